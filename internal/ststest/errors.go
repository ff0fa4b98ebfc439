package ststest

import (
	"fmt"
	"net/http"
	"strings"
)

// apiError is an AWS Query-protocol error document. Messages are kept
// byte-for-byte as AWS writes them (trailing spaces included) because client
// code and tests sometimes match on them.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errorType is "Receiver" for faults on AWS's side so that SDK retry logic
// classifies injected 5xx faults the way it would real ones.
func (e *apiError) errorType() string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func newError(status int, code, format string, args ...any) *apiError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &apiError{Status: status, Code: code, Message: msg}
}

const (
	msgInvalidKey   = "The security token included in the request is invalid."
	msgInvalidToken = "The security token included in the request is invalid"
	msgExpiredToken = "The security token included in the request is expired"
	msgBadSignature = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgBadMFACode   = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
	msgBadMFASerial = "MultiFactorAuthentication failed, unable to validate MFA code. " +
		"Please verify your MFA serial number is valid and associated with this user."
)

func errAccessDenied(format string, args ...any) *apiError {
	return newError(http.StatusForbidden, "AccessDenied", format, args...)
}

func errNotAuthorized(callerArn, action, resource string) *apiError {
	return errAccessDenied("User: %s is not authorized to perform: %s on resource: %s", callerArn, action, resource)
}

func errValidation(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "ValidationError", format, args...)
}

func errInvalidParameter(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

// faultStatus gives injected faults the HTTP status AWS uses for that code, so
// tests only have to name the code.
func faultStatus(code string) int {
	switch code {
	case "AccessDenied", "ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch",
		"MissingAuthenticationToken", "RegionDisabledException":
		return http.StatusForbidden
	case "NoSuchEntity", "ResourceNotFoundException":
		return http.StatusNotFound
	case "UnauthorizedException", "InvalidClientException":
		return http.StatusUnauthorized
	case "ForbiddenException":
		return http.StatusForbidden
	case "TooManyRequestsException":
		return http.StatusTooManyRequests
	case "LimitExceeded", "EntityAlreadyExists", "ConcurrentModification":
		return http.StatusConflict
	case "InternalFailure", "InternalError", "ServiceFailure", "ServiceFailureException", "InternalServerException":
		return http.StatusInternalServerError
	case "ServiceUnavailable", "ServiceUnavailableException":
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

// validation gathers constraint violations the way AWS's request validator
// reports them: all of them in one message, "N validation errors detected".
type validation struct{ problems []string }

func (v *validation) add(value any, member, constraint string) {
	var shown string
	switch x := value.(type) {
	case nil:
		shown = "null"
	case string:
		shown = "'" + x + "'"
	default:
		shown = fmt.Sprintf("'%v'", x)
	}
	v.problems = append(v.problems,
		fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", shown, member, constraint))
}

func (v *validation) err() *apiError {
	switch n := len(v.problems); n {
	case 0:
		return nil
	case 1:
		return errValidation("1 validation error detected: %s", v.problems[0])
	default:
		return errValidation("%d validation errors detected: %s", n, strings.Join(v.problems, "; "))
	}
}
