"""The problem answers the API services declare alike, for their OpenAPI schema.

A route of an account-scoped router needs an API key (401) and counts against its rate
limit (429); a route with a JSON body refuses one too large (413), not JSON (415) or
invalid (422); a route naming an object by id answers 404 when it is not the caller's
account's and 422 for a malformed id. Routes name them as `answers.BY_ID` and combine
them with `|` (and `problem_responses` for their own).
"""

from __future__ import annotations

from shared.http.problems import problem_responses

AUTHENTICATED = problem_responses(401, 429)
WITH_BODY = problem_responses(413, 415, 422)
BY_ID = problem_responses(404, 422)
