package ststest

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsVersion   = "2011-06-15"
	iamVersion   = "2010-05-08"
)

// node is a tiny XML tree. Responses are built by hand rather than with
// encoding/xml struct tags so that element order and the indentation match
// what AWS sends, which keeps captured traffic easy to compare by eye.
type node struct {
	name string
	text string
	kids []node
}

func el(name string, kids ...node) node { return node{name: name, kids: kids} }

func leaf(name, text string) node { return node{name: name, text: text} }

func leafInt(name string, v int) node { return leaf(name, strconv.Itoa(v)) }

func leafTime(name string, t time.Time) node {
	return leaf(name, t.UTC().Format("2006-01-02T15:04:05Z"))
}

// opt drops empty optional members, as AWS omits them rather than sending
// empty elements.
func opt(name, text string) []node {
	if text == "" {
		return nil
	}
	return []node{leaf(name, text)}
}

func (n node) write(b *strings.Builder, depth int) {
	pad := strings.Repeat("  ", depth)
	b.WriteString(pad + "<" + n.name + ">")
	if len(n.kids) == 0 {
		xml.EscapeText(b, []byte(n.text)) //nolint:errcheck // strings.Builder never fails
		b.WriteString("</" + n.name + ">\n")
		return
	}
	b.WriteString("\n")
	for _, k := range n.kids {
		k.write(b, depth+1)
	}
	b.WriteString(pad + "</" + n.name + ">\n")
}

func writeResult(w http.ResponseWriter, ns, action string, result []node, requestID string) {
	var b strings.Builder
	b.WriteString("<" + action + "Response xmlns=\"" + ns + "\">\n")
	if result != nil {
		el(action+"Result", result...).write(&b, 1)
	}
	el("ResponseMetadata", leaf("RequestId", requestID)).write(&b, 1)
	b.WriteString("</" + action + "Response>\n")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}

func writeError(w http.ResponseWriter, ns string, e *apiError, requestID string) {
	var b strings.Builder
	b.WriteString("<ErrorResponse xmlns=\"" + ns + "\">\n")
	el("Error",
		leaf("Type", e.errorType()),
		leaf("Code", e.Code),
		leaf("Message", e.Message),
	).write(&b, 1)
	leaf("RequestId", requestID).write(&b, 1)
	b.WriteString("</ErrorResponse>\n")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(b.String()))
}
