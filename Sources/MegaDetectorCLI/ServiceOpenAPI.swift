/// The batch service's OpenAPI 3.0 description, served at `/openapi.yaml`. Kept next to the routes
/// (ServiceAPI.swift) so both change together; a test checks every documented path is served.
enum ServiceOpenAPI {
    static let document = """
    openapi: 3.0.3
    info:
      title: MegaDetector batch service
      version: "1"
      description: >
        Submit detection jobs over photos under the service's root folders, watch them, and download
        one MegaDetector results file (format 1.6) per job. Every /v1 call needs an API key.
    security:
      - bearer: []
      - apiKey: []
    paths:
      /healthz:
        get:
          summary: Liveness
          security: []
          responses:
            "200": {description: The service is up, content: {application/json: {schema: {type: object}}}}
      /metrics:
        get:
          summary: Prometheus counters (jobs by status, shards by state, photos processed and failed)
          security: []
          responses:
            "200": {description: Prometheus text format 0.0.4, content: {text/plain: {schema: {type: string}}}}
      /openapi.yaml:
        get:
          summary: This document
          security: []
          responses:
            "200": {description: OpenAPI 3.0 YAML, content: {application/yaml: {schema: {type: string}}}}
      /v1/models:
        get:
          summary: Models this service offers (the first is the default)
          responses:
            "200":
              description: Models
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      models:
                        type: array
                        items: {type: object, properties: {name: {type: string}, default: {type: boolean}}}
                      precisions: {type: array, items: {type: string}}
                      classifiers: {type: array, items: {type: string}, description: "SpeciesNet models a job may name as 'classifier'"}
            "401": {$ref: "#/components/responses/Error"}
      /v1/jobs:
        get:
          summary: All jobs, oldest first
          responses:
            "200":
              description: Jobs
              content:
                application/json:
                  schema: {type: object, properties: {jobs: {type: array, items: {$ref: "#/components/schemas/Job"}}}}
            "401": {$ref: "#/components/responses/Error"}
        post:
          summary: Submit a job
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: "#/components/schemas/JobRequest"}
          responses:
            "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
            "400": {$ref: "#/components/responses/Error"}
            "401": {$ref: "#/components/responses/Error"}
            "403": {$ref: "#/components/responses/Error"}
            "413": {description: The request body is larger than --max-request-bytes}
            "422": {$ref: "#/components/responses/Error"}
            "429": {$ref: "#/components/responses/Error"}
            "502": {description: "The S3 endpoint could not list the bucket", content: {application/json: {schema: {type: object}}}}
      /v1/jobs/{id}:
        parameters: [{$ref: "#/components/parameters/JobId"}]
        get:
          summary: A job's status and progress
          responses:
            "200": {description: The job, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
            "401": {$ref: "#/components/responses/Error"}
            "404": {$ref: "#/components/responses/Error"}
      /v1/jobs/{id}/cancel:
        parameters: [{$ref: "#/components/parameters/JobId"}]
        post:
          summary: Cancel a job (final; shards in progress commit nothing)
          responses:
            "200": {description: The job, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
            "401": {$ref: "#/components/responses/Error"}
            "404": {$ref: "#/components/responses/Error"}
      /v1/jobs/{id}/results:
        parameters:
          - {$ref: "#/components/parameters/JobId"}
          - {name: partial, in: query, required: false, schema: {type: boolean},
             description: "Return the photos done so far while the job runs"}
        get:
          summary: The job's MegaDetector results file, every photo exactly once in submission order
          responses:
            "200": {description: MegaDetector results (format 1.6), content: {application/json: {schema: {type: object}}}}
            "401": {$ref: "#/components/responses/Error"}
            "404": {$ref: "#/components/responses/Error"}
            "409": {$ref: "#/components/responses/Error"}
      /v4/camera-trap/detection-batch/request_detections:
        post:
          summary: "Reference API: submit (input_container_sas is a folder under a root; caller must match the key)"
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [input_container_sas, caller]
                  properties:
                    input_container_sas: {type: string}
                    images_requested_json_sas: {type: string, description: JSON list file under a root; paths from the container}
                    image_path_prefix: {type: string}
                    first_n: {type: integer}
                    sample_n: {type: integer}
                    model_version: {type: string}
                    request_name: {type: string}
                    caller: {type: string}
          responses:
            "200": {description: Accepted, content: {application/json: {schema: {type: object, properties: {request_id: {type: string}}}}}}
            "400": {$ref: "#/components/responses/Error"}
            "403": {$ref: "#/components/responses/Error"}
            "503": {$ref: "#/components/responses/Error"}
      /v4/camera-trap/detection-batch/task/{id}:
        parameters: [{$ref: "#/components/parameters/JobId"}]
        get:
          summary: "Reference API: status ({Status: {request_status, message, time}, Timestamp, Endpoint, TaskId})"
          responses:
            "200": {description: Status, content: {application/json: {schema: {type: object}}}}
            "404": {$ref: "#/components/responses/Error"}
      /v4/camera-trap/detection-batch/cancel_request:
        post:
          summary: "Reference API: cancel ({request_id, caller})"
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object, required: [request_id], properties: {request_id: {type: string}, caller: {type: string}}}
          responses:
            "200": {description: Canceled, content: {application/json: {schema: {type: object}}}}
            "404": {$ref: "#/components/responses/Error"}
      /v4/camera-trap/detection-batch/supported_model_versions:
        get:
          summary: "Reference API: model names"
          responses:
            "200": {description: Models, content: {application/json: {schema: {type: object}}}}
      /v4/camera-trap/detection-batch/default_model_version:
        get:
          summary: "Reference API: the default model name"
          responses:
            "200": {description: Model, content: {application/json: {schema: {type: object}}}}
    components:
      securitySchemes:
        bearer: {type: http, scheme: bearer}
        apiKey: {type: apiKey, in: header, name: X-API-Key}
      parameters:
        JobId: {name: id, in: path, required: true, schema: {type: string}}
      responses:
        Error:
          description: A refusal with its reason
          content:
            application/json:
              schema: {type: object, properties: {error: {type: string}, status: {type: integer}}}
      schemas:
        JobRequest:
          type: object
          description: >
            Give folder or images (paths relative to the first root, or absolute under a root; s3://bucket/key
            for buckets the service allows with --s3-bucket; http(s) URLs when it runs with --allow-urls).
          properties:
            folder: {type: string, description: "Searched recursively, or s3://bucket/prefix (alias: input_container_sas)"}
            images: {type: array, items: {type: string}}
            model: {type: string, description: "One of /v1/models by name (alias: model_version)"}
            threshold: {type: number, default: 0.005}
            precision: {type: string, enum: [fp32, int8, bf16], description: "One of /v1/models' precisions (serve --precisions); default the first"}
            frame_sample: {type: integer, description: "Clips: every Nth frame from the first (process_video --frame_sample); default every frame"}
            time_sample: {type: number, description: "Clips: a frame every S seconds (process_video --time_sample); not with frame_sample"}
            classifier: {type: string, description: "One of /v1/models' classifiers (serve --classifier): species labels for detections >= 0.1, as run_md_and_speciesnet adds them"}
            country: {type: string, description: "With classifier: ISO 3166-1 alpha-3 country for geofencing, e.g. KEN"}
            admin1_region: {type: string, description: "With classifier and country: 2-letter region, e.g. CA"}
            request_name: {type: string}
            first_n: {type: integer}
            sample_n: {type: integer}
            image_extensions: {type: array, items: {type: string}}
        Job:
          type: object
          properties:
            id: {type: string}
            name: {type: string}
            status: {type: string, enum: [created, running, completed, failed, canceled, problem]}
            model: {type: string}
            precision: {type: string}
            video_sampling: {type: string, description: "Which frames of clips are processed, e.g. every 10th frame"}
            classifier: {type: string, nullable: true, description: "The SpeciesNet model classifying the job's detections"}
            photos: {type: integer, description: "Photos and clips"}
            photos_done: {type: integer}
            photos_failed: {type: integer}
            shards: {type: integer}
            shards_done: {type: integer}
            rate_per_second: {type: number}
            eta_seconds: {type: number, nullable: true}
            message: {type: string}

    """
}
