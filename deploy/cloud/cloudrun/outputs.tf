output "url" {
  description = "The service's HTTPS URL."
  value       = google_cloud_run_v2_service.rag.uri
}

output "image_repository" {
  description = "Where deploy.sh pushes the image."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "db_connection_name" {
  description = "Cloud SQL connection name (PROJECT:REGION:INSTANCE)."
  value       = google_sql_database_instance.db.connection_name
}
