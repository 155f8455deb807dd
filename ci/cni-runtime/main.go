// cni-runtime drives CNI plugins the way a container runtime does, through the upstream
// libcni: network config lists, prevResult chaining, the result cache, CNI_* variables.
// It also speaks CNI 1.1 (GC, STATUS, "1.1.0" configs), which this libcni predates.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

const notByPlugin = "raised by cni-runtime, not by a plugin"

type options struct {
	conf, cacheDir, cniPath, netns, containerID, ifName, args, capArgs string
	valid                                                              []string
	verbose                                                            bool
	timeout                                                            time.Duration
}

type listFlag struct{ values *[]string }

func (l listFlag) String() string     { return "" }
func (l listFlag) Set(v string) error { *l.values = append(*l.values, v); return nil }

// failure is printed as a CNI error; plugin errors exit 1, the runtime's own exit 2.
type failure struct {
	err      *types.Error
	byPlugin bool
}

func (f *failure) Error() string { return f.err.Msg }

func runtimeError(code uint, format string, a ...interface{}) error {
	return &failure{err: &types.Error{Code: code, Msg: fmt.Sprintf(format, a...), Details: notByPlugin}}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cni-runtime add|check|del|status|gc|version --conf FILE [flags]")
		os.Exit(2)
	}
	verb := os.Args[1]
	var o options
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.StringVar(&o.conf, "conf", "", "network config (.conf or .conflist)")
	fs.StringVar(&o.cacheDir, "cache-dir", "/var/lib/cni", "libcni result cache")
	fs.StringVar(&o.cniPath, "cni-path", os.Getenv("CNI_PATH"), "plugin directories, colon separated")
	fs.StringVar(&o.netns, "netns", "", "network namespace path, or a name under /var/run/netns")
	fs.StringVar(&o.containerID, "container-id", "", "container id")
	fs.StringVar(&o.ifName, "ifname", "eth0", "interface name")
	fs.StringVar(&o.args, "args", "", "CNI_ARGS, K=V;K2=V2")
	fs.StringVar(&o.capArgs, "capability-args", "", "runtimeConfig capability arguments (JSON)")
	fs.Var(listFlag{&o.valid}, "valid", "GC: an attachment to keep, ID/IFNAME (repeatable)")
	fs.BoolVar(&o.verbose, "verbose", false, "log every plugin call to stderr")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "bound on the whole operation")
	if err := fs.Parse(os.Args[2:]); err != nil {
		report(runtimeError(4, "%v", err))
	}
	report(run(verb, &o))
}

// report prints the outcome and exits.
func report(err error) {
	if err == nil {
		os.Exit(0)
	}
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{err: &types.Error{Code: 0, Msg: err.Error(), Details: notByPlugin}}
	}
	out, _ := json.Marshal(f.err)
	fmt.Println(string(out))
	if f.byPlugin {
		os.Exit(1)
	}
	os.Exit(2)
}

func run(verb string, o *options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if o.conf == "" {
		return runtimeError(4, "--conf is required")
	}
	raw, err := os.ReadFile(o.conf)
	if err != nil {
		return runtimeError(0, "reading %s: %v", o.conf, err)
	}
	list, version, err := loadList(raw)
	if err != nil {
		return runtimeError(1, "%v", err)
	}
	exec := &pluginExec{verbose: o.verbose, version: version}
	paths := filepath.SplitList(o.cniPath)
	cni := libcni.NewCNIConfigWithCacheDir(paths, o.cacheDir, exec)
	rt, err := runtimeConf(o)
	if err != nil {
		return err
	}
	switch verb {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return classify(err)
		}
		return printResult(result, version)
	case "check":
		return classify(cni.CheckNetworkList(ctx, list, rt))
	case "del":
		return classify(cni.DelNetworkList(ctx, list, rt))
	case "status":
		return status(ctx, exec, list, paths, version)
	case "gc":
		return gc(ctx, cni, exec, list, paths, o, version)
	case "version":
		return versions(ctx, exec, list, paths)
	}
	return runtimeError(4, "unknown command %q", verb)
}

func runtimeConf(o *options) (*libcni.RuntimeConf, error) {
	netns := o.netns
	if netns != "" && !strings.Contains(netns, "/") {
		netns = filepath.Join("/var/run/netns", netns)
	}
	rt := &libcni.RuntimeConf{ContainerID: o.containerID, NetNS: netns, IfName: o.ifName}
	for _, kv := range strings.Split(o.args, ";") {
		if kv == "" {
			continue
		}
		parts := strings.SplitN(kv, "=", 2)
		if len(parts) != 2 {
			return nil, runtimeError(4, "--args: %q is not K=V", kv)
		}
		rt.Args = append(rt.Args, [2]string{parts[0], parts[1]})
	}
	if o.capArgs != "" {
		if err := json.Unmarshal([]byte(o.capArgs), &rt.CapabilityArgs); err != nil {
			return nil, runtimeError(4, "--capability-args: %v", err)
		}
	}
	return rt, nil
}

// classify turns a plugin's CNI error into a plugin failure, anything else into ours.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var te *types.Error
	if errors.As(err, &te) && te.Details != notByPlugin {
		return &failure{err: te, byPlugin: true}
	}
	return runtimeError(0, "%v", err)
}

// printResult prints the result indented, in the version the config asked for.
func printResult(result types.Result, version string) error {
	data, err := json.Marshal(result)
	if err != nil {
		return runtimeError(0, "encoding result: %v", err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal(data, &m); err != nil {
		return runtimeError(0, "decoding result: %v", err)
	}
	m["cniVersion"] = version
	out, _ := json.MarshalIndent(m, "", "    ")
	fmt.Println(string(out))
	return nil
}
