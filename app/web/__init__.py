"""The HTTP doors: one router per concern (routes/), request and response bodies (schemas/), the admin
token (auth), headers (security), the body and in-flight limits (limits), the head's deadline
(protocol) and Prometheus' figures (metrics)."""
