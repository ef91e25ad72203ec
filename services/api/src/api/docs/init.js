// Swagger UI on this API's OpenAPI document. A file of its own rather than an inline
// script: the page's Content Security Policy runs scripts of this origin only.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // Swagger UI would otherwise send the document to a third-party validator for a badge.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
