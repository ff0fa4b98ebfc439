package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
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
//   - an indented line without '=' or ':' right after a key with a value
//     (or after another such line) continues that value, as in the AWS
//     SDK's parser (see splitContinuations); ini.v1 never sees it;
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
	lastValueSet := false // the last key has a value that continuation lines extend
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
			lastValueEmpty, lastValueSet = false, false
			continue
		}
		i := bytes.IndexAny(line, "=:")
		if i < 0 && lastValueSet && isContinuation(raw) {
			continue // continuation line, joined to the value in values()
		}
		if line[0] == '"' || line[0] == '`' {
			return nil, false, errNeedFullParse
		}
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
		lastValueEmpty, lastValueSet = empty, !empty
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
		Msg:    fmt.Sprintf("cannot parse: %s: %q", what, clipTo(string(bytes.TrimSpace(text)), maxQuotedLine)),
		Advice: "fix or comment out that line (lines look like `[profile NAME]` or `key = value`)"}
}

// isContinuation reports whether a raw line is indented the way the AWS
// SDK's parser requires of a continuation line (a space or a tab).
func isContinuation(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t')
}

// splitContinuations takes the continuation lines out of data, for ini.v1,
// which would reject them. The rule is aws-sdk-go-v2's (config/internal/ini):
// an indented line with neither '=' nor ':' that follows a key whose value
// is not empty (possibly past blank lines, comments and earlier
// continuation lines) adds a newline and the line, less its leading blanks,
// to that value; one that follows a key with an empty value is a nested
// value and is ignored. Each such line is blanked in the copy returned, so
// ini.v1's line count is unchanged.
//
// suffix[h] maps each key of the h-th section (0 is the part before the
// first header, as ini.v1's DEFAULT section), lowercased as ini.v1 is told
// to, to what its last definition in that section gets appended; sections
// is the number of headers seen. data is returned as it is, with a nil
// suffix, when it has no continuation lines.
func splitContinuations(data []byte) (clean []byte, suffix []map[string]string, sections int) {
	key, keySet, nested := "", false, false
	off := 0
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		off = 3 // a UTF-8 byte-order mark, which ini.v1 skips
	}
	for off < len(data) {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		raw := data[off:next]
		start := off
		off = next
		if nested && isContinuation(raw) {
			continue // a nested value ("s3 =\n  key = v"), as in scanINI
		}
		line := bytes.TrimLeftFunc(raw, unicode.IsSpace)
		if len(line) == 0 || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			key, keySet, nested = "", false, false
			sections++
			continue
		}
		i := bytes.IndexAny(line, "=:")
		if i < 0 {
			if keySet && isContinuation(raw) {
				if clean == nil {
					clean = bytes.Clone(data)
				}
				for len(suffix) <= sections {
					suffix = append(suffix, nil)
				}
				if suffix[sections] == nil {
					suffix[sections] = make(map[string]string)
				}
				text := bytes.TrimRight(bytes.TrimLeft(raw, " \t"), "\r\n")
				suffix[sections][key] += "\n" + string(text)
				// Blank the line but keep its newline: line numbers stay.
				for j := start; j < next; j++ {
					if clean[j] != '\n' {
						clean[j] = ' '
					}
				}
			}
			continue
		}
		// An indented key after a value is a key of its own, for the SDK
		// as for ini.v1.
		empty, _ := valueShape(line[i+1:])
		key, keySet, nested = strings.ToLower(string(bytes.TrimSpace(line[:i]))), !empty, empty
		if sections < len(suffix) && suffix[sections] != nil {
			delete(suffix[sections], key)
		}
	}
	if clean == nil {
		return data, nil, sections
	}
	return clean, suffix, sections
}

// continued returns v with the continuation lines of key in section h.
func continued(suffix []map[string]string, h int, key, v string) string {
	if h < len(suffix) {
		if s, ok := suffix[h][key]; ok && strings.TrimSpace(v) != "" {
			return v + s
		}
	}
	return v
}
