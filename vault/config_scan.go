package vault

import (
	"bytes"
	"errors"
	"fmt"
	"unicode"
)

// header is one "[...]" line found by scanINI: the raw name between the
// brackets, as ini.v1 would read it, and the span of its section.
type header struct {
	name string
	span
}

// errNeedFullParse means the file uses a construct that can carry a value
// over several physical lines, which only ini.v1 itself reads correctly.
var errNeedFullParse = errors.New("needs a full ini.v1 parse")

// scanINI walks the lines of data the way ini.v1's parser does with
// iniLoadOptions, without building anything: it returns each section
// header with its byte span, whether keys appear before the first header,
// and the same errors ini.v1 would raise — but with their line numbers.
//
// The rules mirrored from ini.v1 (parser.go, v1.67):
//   - an indented line right after a key with an empty value is a nested
//     value (AllowNestedValues), whatever it contains;
//   - blank lines and lines starting with '#' or ';' are skipped;
//   - a line starting with '[' is a header up to its last ']';
//   - anything else must be key, then '=' or ':', then the value.
//
// Values that may continue on the next line (starting with `"""` or '`',
// or ending with '\'), quoted key names and byte-order marks make it return
// errNeedFullParse.
func scanINI(path string, data []byte) (headers []header, preamble bool, err error) {
	if len(data) >= 2 && (data[0] == 0xEF || data[0] == 0xFE || data[0] == 0xFF) {
		return nil, false, errNeedFullParse
	}
	// Every header starts with '[', so this bounds the count without a
	// second pass over the lines.
	headers = make([]header, 0, bytes.Count(data, []byte{'['}))
	// Header names are cut from one copy of the file rather than copied one
	// by one: 10,000 small allocations less for a big config.
	text := string(data)
	lastValueEmpty := false
	lineNo := 0
	cur := -1 // index of the current section's header
	for off := 0; off < len(data); {
		lineNo++
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		raw := data[off:next]
		start := off
		off = next

		if lastValueEmpty && len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') {
			continue // nested value
		}
		line := bytes.TrimLeftFunc(raw, unicode.IsSpace)
		if len(line) == 0 || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			closeIdx := bytes.LastIndexByte(line, ']')
			if closeIdx < 0 {
				return nil, false, scanError(path, lineNo, "section header has no closing ']'", line)
			}
			if closeIdx == 1 {
				return nil, false, scanError(path, lineNo, "empty section name", line)
			}
			if cur >= 0 {
				headers[cur].end = start
			}
			nameStart := start + (len(raw) - len(line)) + 1
			headers = append(headers, header{name: text[nameStart : nameStart+closeIdx-1], span: span{start: start, end: len(data), line: lineNo}})
			cur = len(headers) - 1
			lastValueEmpty = false
			continue
		}
		if line[0] == '"' || line[0] == '`' {
			return nil, false, errNeedFullParse
		}
		i := bytes.IndexAny(line, "=:")
		if i < 0 {
			return nil, false, scanError(path, lineNo, "expected `key = value` or a [section] header", line)
		}
		if i == 0 {
			return nil, false, scanError(path, lineNo, "a key name is missing before '='", line)
		}
		empty, multi := valueShape(line[i+1:])
		if multi {
			return nil, false, errNeedFullParse
		}
		lastValueEmpty = empty
		if cur < 0 {
			preamble = true
		}
	}
	return headers, preamble, nil
}

// valueShape reports whether ini.v1 would read the value as empty (which
// makes following indented lines nested values), and whether it might
// continue on the next line. It works on bytes: it runs for every line.
func valueShape(in []byte) (empty, multiline bool) {
	v := bytes.TrimLeftFunc(in, unicode.IsSpace)
	if len(v) == 0 {
		return true, false
	}
	if (len(v) > 3 && string(v[:3]) == `"""`) || v[0] == '`' {
		return false, true
	}
	v = bytes.TrimSpace(v)
	if v[len(v)-1] == '\\' {
		return false, true
	}
	// SpaceBeforeInlineComment: " #" or " ;" starts a comment.
	i := bytes.Index(v, []byte(" #"))
	if i < 0 {
		i = bytes.Index(v, []byte(" ;"))
	}
	if i >= 0 {
		v = bytes.TrimSpace(v[:i])
	}
	if surroundedBy(v, '\'') || surroundedBy(v, '"') {
		v = v[1 : len(v)-1]
	}
	return len(v) == 0, false
}

// surroundedBy is ini.v1's hasSurroundedQuote: quote at both ends and
// nowhere else.
func surroundedBy(s []byte, q byte) bool {
	return len(s) >= 2 && s[0] == q && s[len(s)-1] == q && bytes.IndexByte(s[1:], q) == len(s)-2
}

func scanError(path string, line int, what string, text []byte) error {
	return &ConfigError{Kind: ErrMalformedConfig, File: path, Line: line,
		Msg:    fmt.Sprintf("cannot parse: %s: %q", what, truncate(string(bytes.TrimSpace(text)), 60)),
		Advice: "fix or comment out that line (lines look like `[profile NAME]` or `key = value`)"}
}
