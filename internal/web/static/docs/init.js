// Renders the OpenAPI document this server serves; nothing is fetched
// from anywhere else.
Redoc.init("/openapi.json", {
  hideDownloadButton: false,
  expandResponses: "200,201,202",
  pathInMiddlePanel: true,
}, document.getElementById("redoc"));
