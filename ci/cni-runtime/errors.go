package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/containernetworking/cni/pkg/types"
)

// Exit statuses other than success; callers tell a plugin's failure from ours by them.
const (
	exitPluginFailed = 1 // a plugin failed: its CNI error is on stdout
	exitRefused      = 2 // cni-runtime or libcni refused: our CNI-style error is on stdout
)

// notByPlugin marks the errors cni-runtime prints itself.
const notByPlugin = "raised by cni-runtime, not by a plugin"

// pluginError is a plugin that exited non-zero. stdout holds the CNI error it printed,
// byte for byte, or is nil when it printed none (cni then describes the failure).
type pluginError struct {
	cni    types.Error
	stdout []byte
}

func (e *pluginError) Error() string { return e.cni.Error() }

// refusal is cni-runtime's own error, with the spec error code that fits it best.
type refusal struct {
	code uint
	msg  string
}

func (e *refusal) Error() string { return e.msg }

func refuse(code uint, format string, a ...interface{}) error {
	return &refusal{code: code, msg: fmt.Sprintf(format, a...)}
}

// report prints the outcome of verb and exits: 0 on success, exitPluginFailed with the
// plugin's own error, exitRefused with an error raised here or in libcni.
func report(verb string, err error) {
	if err == nil {
		os.Exit(0)
	}
	who := "cni-runtime"
	if verb != "" {
		who += " " + verb
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", who, err)

	var failed *pluginError
	if errors.As(err, &failed) {
		out := failed.stdout
		if out == nil {
			out, _ = json.Marshal(&failed.cni)
		}
		os.Stdout.Write(append(bytes.TrimRight(out, " \t\r\n"), '\n'))
		os.Exit(exitPluginFailed)
	}

	// libcni raises some errors as CNI errors (a missing container ID is code 3); keep
	// their code, mark them as ours.
	own := types.Error{Msg: err.Error(), Details: notByPlugin}
	var r *refusal
	var libcniErr *types.Error
	switch {
	case errors.As(err, &r):
		own.Code = r.code
	case errors.As(err, &libcniErr):
		own.Code = libcniErr.Code
	}
	out, _ := json.Marshal(&own)
	fmt.Println(string(out))
	os.Exit(exitRefused)
}
