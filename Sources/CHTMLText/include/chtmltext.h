#ifndef CHTMLTEXT_H
#define CHTMLTEXT_H
#include <stddef.h>

/// The visible text of an HTML document (UTF-8), parsed by libxml2's forgiving HTML parser:
/// script, style, head and similar elements dropped, block elements separated by a newline,
/// whitespace collapsed, entities decoded. Returns a malloc'ed buffer (free it with
/// projector_html_text_free) and its length in *length; NULL only when out of memory.
char *projector_html_text(const char *html, size_t html_length, size_t *length);

/// Frees a buffer from projector_html_text.
void projector_html_text_free(char *text);

#endif
