"""The web view (``/ui``) and workflow pictures (SVG, Mermaid). Imported lazily by the HTTP
handler on the first ``/ui`` request, so the function's cold start does not pay for it."""
