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

static int configure(struct provider *p, const struct config_section *s, char *err, size_t errlen)
{
    static const char *const keys[] = {"type",  "url",        "ca_file",  "api_key", "api_secret",
                                       "token", "project_id", "team_id", NULL};
    int rc = config_check_keys(s, keys, err, errlen);
    if (rc < 0)
        return rc;
    struct scenario *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return -ENOMEM;
    p->priv = sc;
    const char *url = config_get(s, "url");
    p->url = strdup(url ? url : "https://api.cloud.scenario.com");
    p->page_size = SCENARIO_PAGE;
    const char *v;
    if ((v = config_get(s, "project_id")))
        sc->project_id = provider_escape(v);
    if ((v = config_get(s, "team_id")))
        sc->team_id = provider_escape(v);
    if ((rc = secret_resolve(s, "api_key", &sc->api_key, err, errlen)) < 0 ||
        (rc = secret_resolve(s, "api_secret", &sc->api_secret, err, errlen)) < 0 ||
        (rc = secret_resolve(s, "token", &sc->token, err, errlen)) < 0)
        return rc;
    if (!sc->token && (!sc->api_key || !sc->api_secret)) {
        snprintf(err, errlen, "config: [%s]: scenario needs api_key and api_secret (each "
                 "inline or as _env, _file, _command), or a token", s->name);
        return -EINVAL;
    }
    return 0;
}

static int request(const struct provider *p, const struct cursor *at, struct http_req *req)
{
    const struct scenario *sc = p->priv;
    size_t n = 256 + (at->token ? 3 * strlen(at->token) : 0);
    char *rest = malloc(n);
    if (!rest)
        return -ENOMEM;
    int len = snprintf(rest, n, "/collections?pageSize=%d", SCENARIO_PAGE);
    if (at->token) {
        char *t = provider_escape(at->token);
        len += snprintf(rest + len, n - len, "&paginationToken=%s", t ? t : "");
        free(t);
    }
    if (sc->project_id)
        len += snprintf(rest + len, n - len, "&projectId=%.64s", sc->project_id);
    if (sc->team_id)
        snprintf(rest + len, n - len, "&teamId=%.64s", sc->team_id);
    req->method = "GET";
    req->url = provider_url(p, "/v1", rest);
    free(rest);
    if (!req->url)
        return -ENOMEM;
    int rc = http_req_header(req, "Accept: application/json");
    if (rc == 0 && sc->token) {
        char line[4096];
        snprintf(line, sizeof(line), "Authorization: Bearer %s", sc->token);
        rc = http_req_header(req, line);
        explicit_bzero(line, sizeof(line));
    } else if (rc == 0) {
        req->user = strdup(sc->api_key);
        req->password = strdup(sc->api_secret);
        if (!req->user || !req->password)
            rc = -ENOMEM;
    }
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

const struct provider_ops scenario_ops = {
    .type = "scenario",
    .ordered = false,
    .configure = configure,
    .request = request,
    .parse = parse,
    .destroy = destroy,
};
