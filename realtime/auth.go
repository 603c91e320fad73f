package realtime

import (
	"net/http"
	"strings"

	"github.com/tickroom/tickroom/schema"
)

// Credentials is what a connection presents to Config.Authorize.
//
// A tickroom.v1 connection presents them with its upgrade request: Token is
// the bearer token of its Authorization header, or of its access_token
// query parameter (browsers cannot set headers on a WebSocket). A STOMP
// connection presents them in its CONNECT frame: Login and Passcode from
// the login and passcode headers, Token from an "Authorization: Bearer ..."
// header (what stomp.js connectHeaders and Spring clients send), else from
// the upgrade request as for tickroom.v1.
type Credentials struct {
	Protocol schema.Protocol
	// Request is the WebSocket upgrade request (cookies, origin, remote
	// address). Its body is gone; read only its headers and URL.
	Request  *http.Request
	Login    string
	Passcode string
	Token    string
}

// requestToken returns the bearer token an upgrade request carries.
func requestToken(r *http.Request) string {
	if t, ok := bearer(r.Header.Get("Authorization")); ok {
		return t
	}
	return r.URL.Query().Get("access_token")
}

// bearer returns the token of an "Authorization: Bearer <token>" value.
func bearer(v string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}
