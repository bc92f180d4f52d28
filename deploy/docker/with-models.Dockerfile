# Bakes models into a service image (the alternative to mounting them).
#
# The build context is the folder to copy, so nothing else is sent:
#
#   # phase 3: a model saved by `roadmap run phase2 --save-model DIR`
#   docker build -f deploy/docker/with-models.Dockerfile --build-arg BASE=roadmap-serve:0.1.0 \
#     --build-arg DEST=/model -t roadmap-serve:0.1.0-model DIR
#
#   # RAG: a folder with all-minilm-l6-v2/ and smollm2-135m-instruct/ (each as
#   # `roadmap assets path NAME` shows it), copied to /models where the image's
#   # ROADMAP_ALL_MINILM_L6_V2_DIR and ROADMAP_SMOLLM2_135M_INSTRUCT_DIR point
#   docker build -f deploy/docker/with-models.Dockerfile --build-arg BASE=roadmap-rag:0.1.0 \
#     -t roadmap-rag:0.1.0-models MODELS_DIR
#
# The files are owned by root and read-only for the service user, so a
# compromised service cannot alter its own model.
ARG BASE=roadmap-rag:latest
FROM ${BASE}
ARG DEST=/models
USER 0:0
COPY . ${DEST}/
RUN chmod -R a+rX,go-w ${DEST}
USER 10001:10001
