// cni-runtime drives CNI plugins the way a container runtime does, through the upstream
// libcni: network config lists, prevResult chaining, the result cache, CNI_* variables.
// It also speaks what this libcni (v1.1.2) predates: CNI 1.1 GC and STATUS, and configs
// at cniVersion 1.1.0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

const usage = `usage: cni-runtime add|check|del|status|gc|version --conf FILE [flags]`

// options are the command-line flags.
type options struct {
	conf        string
	cacheDir    string
	cniPath     string
	netns       string
	containerID string
	ifName      string
	args        string
	capArgs     string
	valid       []string
	verbose     bool
	timeout     time.Duration
}

var knownVerbs = map[string]bool{"add": true, "check": true, "del": true, "status": true, "gc": true, "version": true}

// repeated collects every value of a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	o := &options{}
	fs := newFlagSet(o)
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") || os.Args[1] == "help" {
		printUsage(fs)
		report("", refuse(types.ErrInvalidEnvironmentVariables, "no command given"))
	}
	verb := os.Args[1]
	if !knownVerbs[verb] {
		report(verb, refuse(types.ErrInvalidEnvironmentVariables, "unknown command %q (%s)", verb, usage))
	}
	if err := parseFlags(fs, o, os.Args[2:]); err != nil {
		report(verb, err)
	}
	report(verb, run(verb, o))
}

// newFlagSet binds the flags, the same for every command, to o.
func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("cni-runtime", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.conf, "conf", "", "network config: a .conf (one plugin) or a conflist")
	fs.StringVar(&o.cacheDir, "cache-dir", libcni.CacheDir, "libcni's result cache directory")
	fs.StringVar(&o.cniPath, "cni-path", envOr("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"), "plugin directories, colon separated")
	fs.StringVar(&o.netns, "netns", "", "network namespace: a path, or a name under /var/run/netns")
	fs.StringVar(&o.containerID, "container-id", "", "container ID")
	fs.StringVar(&o.ifName, "ifname", "eth0", "interface name inside the container")
	fs.StringVar(&o.args, "args", "", "CNI_ARGS as K=V;K2=V2")
	fs.StringVar(&o.capArgs, "capability-args", "", "capability arguments (runtimeConfig), a JSON object")
	fs.Var((*repeated)(&o.valid), "valid", "gc: an attachment to keep, ID/IFNAME (repeatable)")
	fs.BoolVar(&o.verbose, "verbose", false, "log every plugin call (env, stdin, stdout) to stderr")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "bound on the whole command")
	return fs
}

// parseFlags reads the flags after the command.
func parseFlags(fs *flag.FlagSet, o *options, argv []string) error {
	err := fs.Parse(argv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(fs)
		os.Exit(0)
	}
	if err != nil {
		return refuse(types.ErrInvalidEnvironmentVariables, "%v", err)
	}
	if fs.NArg() > 0 {
		return refuse(types.ErrInvalidEnvironmentVariables, "unexpected argument %q", fs.Arg(0))
	}
	if o.conf == "" {
		return refuse(types.ErrInvalidEnvironmentVariables, "--conf is required")
	}
	return nil
}

func printUsage(fs *flag.FlagSet) {
	fmt.Fprintln(os.Stderr, usage)
	fs.SetOutput(os.Stderr)
	fs.PrintDefaults()
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// run carries out one command within --timeout.
func run(verb string, o *options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	nw, err := loadNetwork(o.conf)
	if err != nil {
		return err
	}
	paths := filepath.SplitList(o.cniPath)
	exec := newPluginExec(nw.version, o.verbose)
	cni := libcni.NewCNIConfigWithCacheDir(paths, o.cacheDir, exec)

	switch verb {
	case "add", "check", "del":
		rt, err := runtimeConf(o)
		if err != nil {
			return err
		}
		return attach(ctx, verb, cni, exec, nw, rt)
	case "status":
		return status(ctx, exec, nw, paths)
	case "gc":
		valid, err := parseValid(o.valid)
		if err != nil {
			return err
		}
		return gc(ctx, cni, exec, nw, paths, o.cacheDir, valid)
	case "version":
		return versions(ctx, exec, nw, paths)
	}
	return refuse(types.ErrInvalidEnvironmentVariables, "unknown command %q", verb)
}

// runtimeConf is what libcni needs to know about one attachment.
func runtimeConf(o *options) (*libcni.RuntimeConf, error) {
	rt := &libcni.RuntimeConf{ContainerID: o.containerID, NetNS: o.netns, IfName: o.ifName}
	if rt.NetNS != "" && !strings.ContainsRune(rt.NetNS, '/') {
		rt.NetNS = filepath.Join("/var/run/netns", rt.NetNS)
	}
	for _, kv := range strings.Split(o.args, ";") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, refuse(types.ErrInvalidEnvironmentVariables, "--args: %q is not K=V", kv)
		}
		rt.Args = append(rt.Args, [2]string{k, v})
	}
	if o.capArgs != "" {
		if err := unmarshalObject([]byte(o.capArgs), &rt.CapabilityArgs); err != nil {
			return nil, refuse(types.ErrDecodingFailure, "--capability-args: %v", err)
		}
	}
	return rt, nil
}
