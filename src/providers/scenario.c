/* Scenario: GET /v1/collections?pageSize=&paginationToken=, an opaque cursor
 * with no total and no documented order. Pages come strictly one after another
 * and names are final only when the whole listing is in (ordered = false). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config.h"
#include "../json.h"
#include "../provider.h"
#include "../secret.h"

#define SCENARIO_PAGE 100

struct scenario {
    char *api_key, *api_secret, *token;
    char *project_id, *team_id;
};

static const struct config_key keys[] = {{"api_key", true},  {"api_secret", true},
                                         {"token", true},    {"project_id", false},
                                         {"team_id", false}, {NULL, false}};

static int configure(struct provider *p, const struct config_section *s, char *err, size_t errlen)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return -ENOMEM;
    p->priv = sc;
    const char *v;
    if (((v = config_get(s, "project_id")) && !(sc->project_id = provider_escape(v))) ||
        ((v = config_get(s, "team_id")) && !(sc->team_id = provider_escape(v))))
        return -ENOMEM;
    int rc;
    if ((rc = secret_resolve(s, "api_key", &sc->api_key, err, errlen)) < 0 ||
        (rc = secret_resolve(s, "api_secret", &sc->api_secret, err, errlen)) < 0 ||
        (rc = secret_resolve(s, "token", &sc->token, err, errlen)) < 0)
        return rc;
    if (!sc->token && (!sc->api_key || !sc->api_secret)) {
        snprintf(err, errlen,
                 "config: [%s]: scenario needs api_key and api_secret (each "
                 "inline or as _env, _file, _command), or a token",
                 s->name);
        return -EINVAL;
    }
    return 0;
}

static int request(const struct provider *p, const struct cursor *at, struct http_req *req)
{
    const struct scenario *sc = p->priv;
    char *t = at->token ? provider_escape(at->token) : NULL, *rest = NULL;
    if (at->token && !t)
        return -ENOMEM;
    int n = asprintf(&rest, "/collections?pageSize=%d%s%s%s%s%s%s", SCENARIO_PAGE,
                     t ? "&paginationToken=" : "", t ? t : "", sc->project_id ? "&projectId=" : "",
                     sc->project_id ? sc->project_id : "", sc->team_id ? "&teamId=" : "",
                     sc->team_id ? sc->team_id : "");
    free(t);
    if (n < 0)
        return -ENOMEM;
    req->method = "GET";
    req->url = provider_url(p, "/v1", rest);
    free(rest);
    if (!req->url)
        return -ENOMEM;
    int rc = http_req_header(req, "Accept: application/json");
    if (rc == 0 && sc->token)
        return http_req_headerf(req, "Authorization: Bearer %s", sc->token);
    if (rc == 0 &&
        (!(req->user = strdup(sc->api_key)) || !(req->password = strdup(sc->api_secret))))
        rc = -ENOMEM;
    return rc;
}

static int parse(const struct provider *p, const struct cursor *at, const struct json *doc,
                 struct page *out, char *why, size_t whylen)
{
    (void)at;
    const struct json *list = json_get(doc, "collections");
    if (!json_is(list, JSON_ARRAY)) {
        snprintf(why, whylen, "[%s] expected {\"collections\": [...]}", p->section);
        return -EIO;
    }
    static const struct provider_fields fields = {"id", NULL, "name", "createdAt", "updatedAt"};
    if (provider_items(list, &fields, out) < 0)
        return -ENOMEM;
    /* An empty page may still carry a token: keep going, the walk stops loops. */
    const struct json *tok = json_get(doc, "nextPaginationToken");
    if (json_is(tok, JSON_STRING) && tok->len > 0 && !memchr(tok->text, '\0', tok->len)) {
        out->next.token = strdup(tok->text);
        if (!out->next.token)
            return -ENOMEM;
        out->more = true;
    }
    return 0;
}

/* Scenario's own client reads the message from `reason` first. */
static const char *error_text(const struct json *body)
{
    return json_str(json_get(body, "reason"), NULL);
}

/* A 429 may say how long to wait in its body, without Retry-After. */
static void rate(const struct http_resp *r, const struct json *body, struct rate *out)
{
    provider_rate_default(r, body, out);
    double s = provider_seconds(json_get(body, "remainingSeconds"));
    if (r->status == 429 && out->left < 0 && s >= 0)
        *out = (struct rate){0, s};
}

static void destroy(struct provider *p)
{
    struct scenario *sc = p->priv;
    if (!sc)
        return;
    secret_free(sc->api_key);
    secret_free(sc->api_secret);
    secret_free(sc->token);
    free(sc->project_id);
    free(sc->team_id);
    free(sc);
}

static char *collection_url(const struct provider *p, const char *id)
{
    return provider_collection_url(p, "/v1", "/collections", id);
}

const struct provider_ops scenario_ops = {
    .type = "scenario",
    .default_url = "https://api.cloud.scenario.com",
    .page_size = SCENARIO_PAGE,
    .ordered = false,
    .keys = keys,
    .configure = configure,
    .request = request,
    .parse = parse,
    .error_text = error_text,
    .rate = rate,
    .collection_url = collection_url,
    .destroy = destroy,
};
