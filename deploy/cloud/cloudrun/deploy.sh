#!/usr/bin/env bash
# Deploys the RAG service to Google Cloud Run with this folder's Terraform.
#
#   deploy/cloud/cloudrun/deploy.sh PROJECT_ID [REGION]
#
# Needs: gcloud (logged in: `gcloud auth login` and
# `gcloud auth application-default login`), terraform >= 1.5, docker, and a
# registry-reachable machine (the image is built with the multi-stage root
# Dockerfile and pushed to the project's Artifact Registry). Models: a folder
# with all-minilm-l6-v2/ and smollm2-135m-instruct/ in ROADMAP_MODELS_DIR
# (`roadmap assets fetch NAME`, then `roadmap assets path NAME`). Secrets:
# deploy/secrets/{api_keys,db_password} (deploy/make-secrets.sh makes them).
#
# Steps (each idempotent, so a failed run can be repeated):
#   1. terraform apply of the APIs, image repository, secrets, database and
#      service account (everything but the service)
#   2. secret versions from the files, the database user's password (gcloud;
#      the values never enter Terraform's state)
#   3. build (root Dockerfile, target rag) + bake the models in + push
#   4. terraform apply of the service, pinned to the pushed image's digest
#   5. wait for /readyz through the service URL
set -euo pipefail

project=${1:?usage: deploy.sh PROJECT_ID [REGION]}
region=${2:-europe-west1}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
secrets=${ROADMAP_SECRETS_DIR:-$repo/deploy/secrets}
models=${ROADMAP_MODELS_DIR:?set ROADMAP_MODELS_DIR to a folder with all-minilm-l6-v2/ and smollm2-135m-instruct/}
for f in "$secrets/api_keys" "$secrets/db_password"; do
  [ -s "$f" ] || { echo "deploy.sh: $f is missing or empty: run deploy/make-secrets.sh" >&2; exit 1; }
done
for d in all-minilm-l6-v2 smollm2-135m-instruct; do
  [ -d "$models/$d" ] || { echo "deploy.sh: $models/$d is missing (roadmap assets fetch $d)" >&2; exit 1; }
done
command -v gcloud >/dev/null || { echo "deploy.sh: gcloud is not installed" >&2; exit 1; }

cd "$here"
tf=(terraform -chdir="$here")
vars=(-var "project_id=$project" -var "region=$region")
"${tf[@]}" init -input=false
# 1. Everything the image and the service need, first (the image variable is
# not used by these resources; a placeholder satisfies it).
"${tf[@]}" apply -input=false -auto-approve "${vars[@]}" -var "image=unused" \
  -target=google_project_service.apis -target=google_artifact_registry_repository.images \
  -target=google_secret_manager_secret.files -target=google_secret_manager_secret_iam_member.rag_reads \
  -target=google_sql_database.rag -target=google_project_iam_member.rag_sql_client
repository=$("${tf[@]}" output -raw image_repository)

# 2. Secret values straight from the files to Secret Manager and Cloud SQL.
gcloud --project "$project" secrets versions add roadmap-rag-api-keys --data-file="$secrets/api_keys"
gcloud --project "$project" secrets versions add roadmap-rag-db-password --data-file="$secrets/db_password"
if ! gcloud --project "$project" sql users describe roadmap --instance=roadmap-rag >/dev/null 2>&1; then
  gcloud --project "$project" sql users create roadmap --instance=roadmap-rag --password="$(head -n 1 "$secrets/db_password")"
else
  gcloud --project "$project" sql users set-password roadmap --instance=roadmap-rag --password="$(head -n 1 "$secrets/db_password")"
fi

# 3. The image: source build, models baked in, pushed.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)
revision=$(git -C "$repo" rev-parse HEAD)
gcloud auth configure-docker "${repository%%/*}" --quiet
docker build --target rag -t "roadmap-rag:$version" --build-arg VERSION="$version" \
  --build-arg REVISION="$revision" --build-arg SOURCE="$(git -C "$repo" remote get-url origin 2>/dev/null || echo unknown)" "$repo"
docker build -f "$repo/deploy/docker/with-models.Dockerfile" --build-arg BASE="roadmap-rag:$version" \
  -t "$repository/roadmap-rag:$version-models" "$models"
docker push "$repository/roadmap-rag:$version-models"
digest=$(docker image inspect -f '{{ index .RepoDigests 0 }}' "$repository/roadmap-rag:$version-models")

# 4. The service, on exactly that image.
"${tf[@]}" apply -input=false -auto-approve "${vars[@]}" -var "image=$digest"
url=$("${tf[@]}" output -raw url)

# 5. Ready? (a private service needs an identity token)
token=$(gcloud auth print-identity-token 2>/dev/null || true)
for _ in $(seq 1 60); do
  if curl -fsS -H "Authorization: Bearer $token" "$url/readyz" >/dev/null 2>&1; then
    echo "deploy.sh: $url is ready"
    exit 0
  fi
  sleep 5
done
echo "deploy.sh: $url did not become ready in 5 minutes: gcloud run services logs read roadmap-rag --region $region" >&2
exit 1
