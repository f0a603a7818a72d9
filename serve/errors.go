// OpenAI-style error bodies: {"error":{"message","type","param","code"}}
// with the HTTP status the OpenAI API uses for the same mistake, so that
// clients raise their usual exception types.

package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiError is an error a client can act on.
type apiError struct {
	status  int
	message string
	typ     string // invalid_request_error, authentication_error, ...
	param   string
	code    string
}

func (e *apiError) Error() string { return e.message }

// errorBody is the JSON shape of an error response (and of an error event
// in a stream).
type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func (e *apiError) body() errorBody {
	var b errorBody
	b.Error.Message, b.Error.Type = e.message, e.typ
	if e.param != "" {
		b.Error.Param = &e.param
	}
	if e.code != "" {
		b.Error.Code = &e.code
	}
	return b
}

// badRequest is a 400 invalid_request_error about param.
func badRequest(param, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", param: param, message: fmt.Sprintf(format, a...)}
}

// writeError sends err as an OpenAI error body; errors that are not
// apiErrors become 500s with their text.
func writeError(w http.ResponseWriter, err error) {
	e := asAPIError(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e.body())
}

// asAPIError maps any error to the apiError a client sees.
func asAPIError(err error) *apiError {
	var e *apiError
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, errQueueFull):
		return &apiError{status: http.StatusTooManyRequests, typ: "rate_limit_error", code: "server_overloaded", message: err.Error() + "; retry later"}
	case errors.Is(err, errShutdown):
		return &apiError{status: http.StatusServiceUnavailable, typ: "server_error", code: "server_shutting_down", message: err.Error()}
	default:
		return &apiError{status: http.StatusInternalServerError, typ: "server_error", message: err.Error()}
	}
}

// decodeJSON reads one JSON object from r into v, rejecting fields v does
// not know (as the OpenAI API does: a misspelt parameter is an error, not
// a silent default) and trailing data. The body has already been limited
// by http.MaxBytesReader.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return badRequest("", "request body holds more than one JSON value")
		}
		return nil
	}
	var (
		maxErr   *http.MaxBytesError
		typeErr  *json.UnmarshalTypeError
		syntaxEr *json.SyntaxError
		apiErr   *apiError
	)
	switch {
	case errors.As(err, &maxErr):
		return &apiError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error", code: "request_too_large",
			message: fmt.Sprintf("request body exceeds the server's limit of %d bytes", maxErr.Limit)}
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &typeErr):
		// The shared fields live in an embedded struct whose Go name
		// shows in the path; clients know only the JSON name.
		field := strings.TrimPrefix(typeErr.Field, "samplingFields.")
		return badRequest(field, "invalid type for '%s': expected %s, got JSON %s", field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxEr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("", "could not parse the JSON body of your request (%v); send a JSON object and set 'Content-Type: application/json'", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, "unrecognized request argument supplied: %s", field)
	default:
		return badRequest("", "invalid request body: %v", err)
	}
}
