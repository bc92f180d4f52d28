variable "project_id" {
  description = "Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run service, the Cloud SQL instance and the image repository."
  type        = string
  default     = "europe-west1"
}

variable "image" {
  description = "The RAG service image with its models baked in (deploy/docker/with-models.Dockerfile), pushed to the repository this module creates, by digest: REGION-docker.pkg.dev/PROJECT/roadmap/roadmap-rag@sha256:..."
  type        = string
}

variable "service_name" {
  description = "Name of the Cloud Run service."
  type        = string
  default     = "roadmap-rag"
}

variable "min_instances" {
  description = "Instances kept warm (0 scales to zero; the first request then waits for the model load)."
  type        = number
  default     = 1
}

variable "max_instances" {
  description = "Upper bound on instances."
  type        = number
  default     = 10
}

variable "concurrency" {
  description = "Requests one instance handles at once; the service's own queue bounds local-LLM generation beyond this."
  type        = number
  default     = 32
}

variable "public" {
  description = "Let anyone invoke the service (read endpoints are open, writes still need an API key). false: only callers with roles/run.invoker."
  type        = bool
  default     = false
}

variable "db_tier" {
  description = "Cloud SQL machine tier for PostgreSQL 16 (pgvector is a built-in extension there)."
  type        = string
  default     = "db-custom-1-3840"
}

variable "deletion_protection" {
  description = "Protect the database from terraform destroy."
  type        = bool
  default     = true
}
