// libxml2 stays behind this C file: its headers pull in ICU headers that clash with
// Foundation's copy when imported into Swift, and its global xmlFree is not concurrency-safe
// in Swift 6. Only text node contents are read (no xmlNodeGetContent, which glues blocks
// together and keeps script text), so nothing libxml2 allocates is handed out.
#include "chtmltext.h"
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>

typedef struct {
    char *bytes;
    size_t length;
    size_t capacity;
    int pending_space;
    int pending_break;
    int failed;
} collector;

static void put(collector *c, char byte) {
    if (c->failed) return;
    if (c->length + 1 >= c->capacity) {
        size_t capacity = c->capacity ? c->capacity * 2 : 256;
        char *grown = realloc(c->bytes, capacity);
        if (!grown) { c->failed = 1; return; }
        c->bytes = grown;
        c->capacity = capacity;
    }
    c->bytes[c->length++] = byte;
}

static void append_text(collector *c, const unsigned char *text) {
    for (const unsigned char *p = text; *p; p++) {
        unsigned char byte = *p;
        if (byte == ' ' || byte == '\n' || byte == '\t' || byte == '\r' || byte == '\f') {
            c->pending_space = 1;
            continue;
        }
        if (byte == 0xC2 && p[1] == 0xA0) {  // no-break space separates words too
            p++;
            c->pending_space = 1;
            continue;
        }
        if (c->length > 0) {
            if (c->pending_break) put(c, '\n');
            else if (c->pending_space) put(c, ' ');
        }
        c->pending_break = 0;
        c->pending_space = 0;
        put(c, (char)byte);
    }
}

static const char *skipped[] = {
    "script", "style", "head", "noscript", "template", "svg", "math", "iframe", "object", "canvas", "title", NULL,
};

static const char *blocks[] = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    "option", "caption", "center", "img", "body", "html", "frame", "legend", "menu", "dir", NULL,
};

static int in_list(const xmlChar *name, const char **list) {
    if (!name) return 0;
    for (const char **entry = list; *entry; entry++) {
        if (strcasecmp((const char *)name, *entry) == 0) return 1;
    }
    return 0;
}

/// Iterative walk: hostile documents nest deeply enough to overflow a recursive one.
static void walk(xmlNodePtr root, collector *c) {
    xmlNodePtr node = root;
    while (node) {
        int descend = 0;
        if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
            if (node->content) append_text(c, node->content);
        } else if (node->type == XML_ELEMENT_NODE && !in_list(node->name, skipped)) {
            if (in_list(node->name, blocks)) c->pending_break = 1;
            if (node->children) descend = 1;
        }
        if (descend) {
            node = node->children;
            continue;
        }
        while (node && node != root && !node->next) {
            node = node->parent;
            if (node && node->type == XML_ELEMENT_NODE && in_list(node->name, blocks)) c->pending_break = 1;
        }
        if (!node || node == root) break;
        node = node->next;
    }
}

static pthread_once_t initialized = PTHREAD_ONCE_INIT;

static void initialize(void) { xmlInitParser(); }

char *projector_html_text(const char *html, size_t html_length, size_t *length) {
    pthread_once(&initialized, initialize);
    collector c = {0};
    // libxml2 stops at a NUL byte; there is no text after one worth keeping anyway.
    size_t usable = strnlen(html, html_length);
    if (usable > 0 && usable <= 0x7FFFFFFF) {
        int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                      HTML_PARSE_COMPACT;
        htmlDocPtr document = htmlReadMemory(html, (int)usable, NULL, "UTF-8", options);
        if (document) {
            xmlNodePtr root = xmlDocGetRootElement(document);
            if (root) walk(root, &c);
            xmlFreeDoc(document);
        }
    }
    put(&c, '\0');
    if (c.failed) {
        free(c.bytes);
        return NULL;
    }
    *length = c.length - 1;
    return c.bytes;
}

void projector_html_text_free(char *text) { free(text); }
