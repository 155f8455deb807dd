package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// pluginExec runs plugins for libcni (it implements invoke.Exec): stderr always passes
// through, and for a config newer than libcni it rewrites the version both ways.
type pluginExec struct {
	verbose bool
	// version is the cniVersion the config names.
	version string
}

func (e *pluginExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

func (e *pluginExec) Decode(jsonBytes []byte) (version.PluginInfo, error) {
	return (&version.PluginDecoder{}).Decode(jsonBytes)
}

func (e *pluginExec) ExecPlugin(ctx context.Context, path string, stdin []byte, environ []string) ([]byte, error) {
	rewrite := newer(e.version)
	if rewrite {
		stdin = withVersion(stdin, e.version)
	}
	out, err := e.exec(ctx, path, stdin, environ)
	if err != nil || !rewrite || len(bytes.TrimSpace(out)) == 0 {
		return out, err
	}
	return withVersion(out, libcniMax), nil
}

// call runs one verb libcni does not know (GC, STATUS, VERSION) on plugin `name`.
func (e *pluginExec) call(ctx context.Context, name string, paths []string, verb string, stdin []byte, out *[]byte) error {
	path, err := invoke.FindInPath(name, paths)
	if err != nil {
		return runtimeError(0, "%v", err)
	}
	env := append(os.Environ(),
		"CNI_COMMAND="+verb,
		"CNI_PATH="+strings.Join(paths, string(os.PathListSeparator)),
		"CNI_CONTAINERID=", "CNI_NETNS=", "CNI_IFNAME=", "CNI_ARGS=")
	got, err := e.exec(ctx, path, stdin, env)
	if err != nil {
		return classify(err)
	}
	if out != nil {
		*out = got
	}
	return nil
}

func (e *pluginExec) exec(ctx context.Context, path string, stdin []byte, environ []string) ([]byte, error) {
	var stdout bytes.Buffer
	c := exec.CommandContext(ctx, path)
	c.Env = environ
	c.Stdin = bytes.NewReader(stdin)
	c.Stdout = &stdout
	c.Stderr = os.Stderr
	if e.verbose {
		fmt.Fprintf(os.Stderr, "cni-runtime: exec %s\n  env: %s\n  stdin: %s\n", path, cniEnv(environ), stdin)
	}
	err := c.Run()
	if e.verbose {
		fmt.Fprintf(os.Stderr, "  stdout: %s\n  result: %v\n", stdout.Bytes(), err)
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	var te types.Error
	if json.Unmarshal(stdout.Bytes(), &te) == nil && (te.Code != 0 || te.Msg != "") {
		return nil, &te
	}
	return nil, &types.Error{Code: 0, Msg: fmt.Sprintf("plugin %s failed (%v) without a CNI error: %q", path, err, stdout.String())}
}

func cniEnv(environ []string) string {
	var out []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, "CNI_") {
			out = append(out, kv)
		}
	}
	return strings.Join(out, " ")
}
