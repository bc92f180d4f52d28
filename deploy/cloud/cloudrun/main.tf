# The RAG service on Cloud Run (v2), its store on Cloud SQL for PostgreSQL 16
# (with the pgvector extension, created by the service on first connect), its
# secrets in Secret Manager mounted as files, and an image repository.
#
# Secret values never pass through Terraform (so never land in its state):
# this module creates the secrets and grants access; deploy.sh adds their
# versions from files with gcloud. The configuration files are not secret and
# are uploaded from deploy/config/ as secret versions only because Cloud Run
# mounts files from Secret Manager.

locals {
  services = [
    "run.googleapis.com",
    "sqladmin.googleapis.com",
    "secretmanager.googleapis.com",
    "artifactregistry.googleapis.com",
  ]
  db_name = "roadmap"
  db_user = "roadmap"
  labels = {
    "org-roadmap-project" = "roadmap"
  }
}

resource "google_project_service" "apis" {
  for_each           = toset(local.services)
  service            = each.value
  disable_on_destroy = false
}

resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = "roadmap"
  format        = "DOCKER"
  description   = "roadmap service images"
  labels        = local.labels
  depends_on    = [google_project_service.apis]
}

resource "google_service_account" "rag" {
  account_id   = "roadmap-rag"
  display_name = "roadmap RAG service"
}

# --- store: Cloud SQL for PostgreSQL 16 -------------------------------------
resource "google_sql_database_instance" "db" {
  name                = "roadmap-rag"
  database_version    = "POSTGRES_16"
  region              = var.region
  deletion_protection = var.deletion_protection

  settings {
    tier              = var.db_tier
    availability_type = "ZONAL"
    user_labels       = local.labels

    ip_configuration {
      # Reached through the Cloud SQL connector socket that Cloud Run mounts:
      # a public IP with no authorised networks accepts nothing else.
      ipv4_enabled = true
      ssl_mode     = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
    }

    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "off"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_sql_database" "rag" {
  name     = local.db_name
  instance = google_sql_database_instance.db.name
}

# The user's password is set by deploy.sh from deploy/secrets/db_password
# (gcloud sql users set-password), so it is not in the Terraform state.
resource "google_project_iam_member" "rag_sql_client" {
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = "serviceAccount:${google_service_account.rag.email}"
}

# --- secrets and configuration files ------------------------------------------
resource "google_secret_manager_secret" "files" {
  for_each  = toset(["roadmap-rag-api-keys", "roadmap-rag-db-password", "roadmap-rag-service-toml", "roadmap-rag-experiments-toml"])
  secret_id = each.value
  labels    = local.labels
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "service_toml" {
  secret      = google_secret_manager_secret.files["roadmap-rag-service-toml"].id
  secret_data = file("${path.module}/../../config/service.toml")
}

resource "google_secret_manager_secret_version" "experiments_toml" {
  secret      = google_secret_manager_secret.files["roadmap-rag-experiments-toml"].id
  secret_data = file("${path.module}/../../config/experiments.toml")
}

resource "google_secret_manager_secret_iam_member" "rag_reads" {
  for_each  = google_secret_manager_secret.files
  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.rag.email}"
}

# --- the service -----------------------------------------------------------------
resource "google_cloud_run_v2_service" "rag" {
  name     = var.service_name
  location = var.region
  ingress  = "INGRESS_TRAFFIC_ALL"
  labels   = local.labels

  template {
    service_account                  = google_service_account.rag.email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "120s"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image
      args  = ["rag", "serve", "--addr", "0.0.0.0:8080", "--config", "/etc/roadmap/service/service.toml"]

      ports {
        name           = "http1"
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "2"
          memory = "2Gi"
        }
        # Generation and embedding run outside requests too (queue, drift
        # monitor): keep the CPU allocated between requests.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      env {
        name  = "ROADMAP_RAG_STORE"
        value = "postgres://${local.db_user}@localhost/${local.db_name}?host=/cloudsql/${google_sql_database_instance.db.connection_name}"
      }
      env {
        name  = "ROADMAP_RAG_STORE_PASSWORD_FILE"
        value = "/run/secrets/db/db_password"
      }
      env {
        name  = "ROADMAP_API_KEYS_FILE"
        value = "/run/secrets/api/api_keys"
      }
      env {
        name  = "ROADMAP_RAG_EXPERIMENTS"
        value = "/etc/roadmap/experiments/experiments.toml"
      }
      env {
        name  = "RUST_LOG"
        value = "info"
      }

      # Cloud Run has no readiness probe: it sends traffic once the startup
      # probe passes, so startup waits for /readyz (store and models ready)
      # and liveness watches /healthz.
      startup_probe {
        http_get {
          path = "/readyz"
          port = 8080
        }
        initial_delay_seconds = 2
        period_seconds        = 3
        timeout_seconds       = 2
        failure_threshold     = 40
      }

      liveness_probe {
        http_get {
          path = "/healthz"
          port = 8080
        }
        period_seconds    = 10
        timeout_seconds   = 3
        failure_threshold = 3
      }

      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }
      volume_mounts {
        name       = "api-keys"
        mount_path = "/run/secrets/api"
      }
      volume_mounts {
        name       = "db-password"
        mount_path = "/run/secrets/db"
      }
      volume_mounts {
        name       = "service-toml"
        mount_path = "/etc/roadmap/service"
      }
      volume_mounts {
        name       = "experiments-toml"
        mount_path = "/etc/roadmap/experiments"
      }
    }

    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = [google_sql_database_instance.db.connection_name]
      }
    }
    volumes {
      name = "api-keys"
      secret {
        secret = google_secret_manager_secret.files["roadmap-rag-api-keys"].secret_id
        items {
          version = "latest"
          path    = "api_keys"
          mode    = 292 # 0444: the container user is not root
        }
      }
    }
    volumes {
      name = "db-password"
      secret {
        secret = google_secret_manager_secret.files["roadmap-rag-db-password"].secret_id
        items {
          version = "latest"
          path    = "db_password"
          mode    = 292
        }
      }
    }
    volumes {
      name = "service-toml"
      secret {
        secret = google_secret_manager_secret.files["roadmap-rag-service-toml"].secret_id
        items {
          version = "latest"
          path    = "service.toml"
          mode    = 292
        }
      }
    }
    volumes {
      name = "experiments-toml"
      secret {
        secret = google_secret_manager_secret.files["roadmap-rag-experiments-toml"].secret_id
        items {
          version = "latest"
          path    = "experiments.toml"
          mode    = 292
        }
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.rag_reads,
    google_project_iam_member.rag_sql_client,
    google_secret_manager_secret_version.service_toml,
    google_secret_manager_secret_version.experiments_toml,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  count    = var.public ? 1 : 0
  name     = google_cloud_run_v2_service.rag.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "allUsers"
}
