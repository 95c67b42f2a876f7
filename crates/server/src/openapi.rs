//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, generated from the handlers'
//! and types' annotations (utoipa), so it cannot drift from the code.

use crate::api_error::{ErrorDetail, ErrorResponse};
use crate::embed::Input;
use crate::routes_meta::{Health, Info};
use crate::routes_openai::{
    EmbeddingData, EmbeddingRequest, EmbeddingResponse, EmbeddingValue, EncodingFormat, Usage,
};
use crate::routes_tei::{EmbedRequest, Rank, RerankRequest};
use crate::{routes_meta, routes_openai, routes_tei};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "qkv serve",
        description = "Sentence embeddings on the CPU: OpenAI- and text-embeddings-inference-compatible routes."
    ),
    paths(
        routes_openai::embeddings,
        routes_tei::embed_route,
        routes_tei::rerank,
        routes_meta::health,
        routes_meta::info,
        routes_meta::metrics,
        openapi_json,
    ),
    components(schemas(
        Input, EncodingFormat, EmbeddingRequest, EmbeddingResponse, EmbeddingData,
        EmbeddingValue, Usage, EmbedRequest, RerankRequest, Rank, Health, Info,
        ErrorResponse, ErrorDetail
    )),
    modifiers(&BearerKey)
)]
pub struct ApiDoc;

/// Declares the `api_key` bearer scheme the routes refer to.
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = Object)),
    security((), ("api_key" = []))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
