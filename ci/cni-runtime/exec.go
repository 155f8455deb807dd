package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// textBusyRetries bounds the retries of a plugin binary still open for writing (ETXTBSY),
// one second apart, as libcni's own exec does.
const textBusyRetries = 5

// pluginExec runs plugins, for libcni (it is libcni's invoke.Exec) and for the verbs
// libcni lacks. Plugin stderr passes through to ours.
//
// When the config is newer than libcni, libcni runs it at libcniVersion and pluginExec
// translates: the plugin sees the config's own version in its stdin (top level and
// prevResult), and libcni sees libcniVersion in the plugin's answer.
type pluginExec struct {
	version.PluginDecoder
	verbose bool
	// wire is the cniVersion plugins see: the config's own.
	wire string
	// translate is set when wire is newer than libcni knows.
	translate bool
	// answered is the cniVersion of the last plugin answer, as the plugin wrote it.
	answered string
}

var _ invoke.Exec = (*pluginExec)(nil)

func newPluginExec(wire string, verbose bool) *pluginExec {
	return &pluginExec{verbose: verbose, wire: wire, translate: newerThanLibcni(wire)}
}

func (e *pluginExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

// ExecPlugin runs one plugin call on libcni's behalf.
func (e *pluginExec) ExecPlugin(ctx context.Context, path string, stdin []byte, environ []string) ([]byte, error) {
	if e.translate {
		stdin = withVersion(stdin, e.wire)
	}
	out, err := e.run(ctx, path, stdin, environ)
	if err != nil {
		return nil, err
	}
	e.answered = versionOf(out)
	if e.translate && e.answered == e.wire {
		out = withVersion(out, libcniVersion)
	}
	return out, nil
}

// call runs a command libcni v1.1.2 cannot send (GC, STATUS) on the plugin of type
// plugin, as upstream libcni sends them: no attachment, so only CNI_COMMAND and CNI_PATH
// are set and the other CNI_* variables are empty.
func (e *pluginExec) call(ctx context.Context, paths []string, command, plugin string, stdin []byte) ([]byte, error) {
	path, err := e.FindInPath(plugin, paths)
	if err != nil {
		return nil, refuse(types.ErrUnknown, "%v", err)
	}
	args := &invoke.Args{Command: command, Path: strings.Join(paths, string(os.PathListSeparator))}
	return e.run(ctx, path, stdin, args.AsEnv())
}

// run executes the plugin binary once (retrying only ETXTBSY) and returns its stdout.
func (e *pluginExec) run(ctx context.Context, path string, stdin []byte, environ []string) ([]byte, error) {
	e.logf("exec %s\n  env: %s\n  stdin: %s", path, cniEnv(environ), stdin)
	var stdout bytes.Buffer
	var err error
	for attempt := 0; ; attempt++ {
		stdout.Reset()
		cmd := exec.CommandContext(ctx, path)
		cmd.Env = environ
		cmd.Stdin = bytes.NewReader(stdin)
		cmd.Stdout = &stdout
		cmd.Stderr = os.Stderr
		err = cmd.Run()
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || attempt == textBusyRetries {
			break
		}
		time.Sleep(time.Second)
	}
	e.logf("  stdout: %s\n  exit: %v", bytes.TrimSpace(stdout.Bytes()), errOrOK(err))

	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return stdout.Bytes(), nil
	case ctx.Err() != nil:
		return nil, refuse(types.ErrUnknown, "plugin %s: %v", path, ctx.Err())
	case !errors.As(err, &exitErr):
		return nil, refuse(types.ErrUnknown, "cannot run plugin %s: %v", path, err)
	}
	return nil, pluginFailure(path, exitErr, stdout.Bytes())
}

// pluginFailure is the error of a plugin that exited non-zero, keeping the CNI error it
// printed as it printed it.
func pluginFailure(path string, exitErr *exec.ExitError, stdout []byte) error {
	var cniErr types.Error
	if json.Unmarshal(stdout, &cniErr) == nil && (cniErr.Code != 0 || cniErr.Msg != "") {
		return &pluginError{cni: cniErr, stdout: stdout}
	}
	msg := fmt.Sprintf("plugin %s failed (%v) without a CNI error on stdout: %q", path, exitErr, stdout)
	return &pluginError{cni: types.Error{Code: types.ErrUnknown, Msg: msg}}
}

func (e *pluginExec) logf(format string, a ...interface{}) {
	if e.verbose {
		fmt.Fprintf(os.Stderr, "cni-runtime: "+format+"\n", a...)
	}
}

// cniEnv is the CNI_* part of a plugin environment, for the log.
func cniEnv(environ []string) string {
	var cni []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, "CNI_") {
			cni = append(cni, kv)
		}
	}
	return strings.Join(cni, " ")
}

func errOrOK(err error) interface{} {
	if err == nil {
		return "ok"
	}
	return err
}
