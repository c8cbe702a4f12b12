"""campaign_api: the HTTP API for leads, segments, templates, campaigns and suppressions."""
