package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/version"
)

// libcniMax is the newest version this libcni can parse; newer configs are run at it
// and rewritten on the way to and from each plugin (see pluginExec).
const libcniMax = "1.0.0"

// loadList reads a .conf or .conflist as a list, returning it at a version libcni
// understands, and the version the config really names.
func loadList(raw []byte) (*libcni.NetworkConfigList, string, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, "", fmt.Errorf("config is not a JSON object: %v", err)
	}
	var want string
	if v, ok := probe["cniVersion"]; ok {
		_ = json.Unmarshal(v, &want)
	}
	if want == "" {
		want = "0.1.0"
	}
	effective := raw
	if newer(want) {
		effective = withVersion(raw, libcniMax)
	}
	if _, isList := probe["plugins"]; isList {
		list, err := libcni.ConfListFromBytes(effective)
		return list, want, err
	}
	conf, err := libcni.ConfFromBytes(effective)
	if err != nil {
		return nil, "", err
	}
	list, err := libcni.ConfListFromConf(conf)
	return list, want, err
}

// newer reports whether v is past what this libcni knows.
func newer(v string) bool {
	ge, err := version.GreaterThanOrEqualTo(v, libcniMax)
	return err == nil && ge && v != libcniMax
}

// withVersion sets cniVersion at the top level of a JSON object (and of its
// prevResult), leaving everything else as it was.
func withVersion(raw []byte, v string) []byte {
	var m map[string]interface{}
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	m["cniVersion"] = v
	if prev, ok := m["prevResult"].(map[string]interface{}); ok {
		prev["cniVersion"] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// pluginConfig is one plugin's stdin for verbs libcni does not run (GC, STATUS).
func pluginConfig(list *libcni.NetworkConfigList, p *libcni.NetworkConfig, want string, extra map[string]interface{}) ([]byte, error) {
	var m map[string]interface{}
	if err := json.Unmarshal(p.Bytes, &m); err != nil {
		return nil, err
	}
	m["name"] = list.Name
	m["cniVersion"] = want
	for k, v := range extra {
		m[k] = v
	}
	return json.Marshal(m)
}

func atLeast11(v string) bool {
	ok, err := version.GreaterThanOrEqualTo(v, "1.1.0")
	return err == nil && ok
}

// status sends STATUS to each plugin in order, stopping at the first error.
func status(ctx context.Context, e *pluginExec, list *libcni.NetworkConfigList, paths []string, want string) error {
	if !atLeast11(want) {
		fmt.Fprintf(os.Stderr, "cni-runtime: STATUS needs cniVersion 1.1.0 (config is %s); nothing done\n", want)
		return nil
	}
	for _, p := range list.Plugins {
		stdin, err := pluginConfig(list, p, want, nil)
		if err != nil {
			return runtimeError(0, "%v", err)
		}
		if err := e.call(ctx, p.Network.Type, paths, "STATUS", stdin, nil); err != nil {
			return err
		}
	}
	return nil
}

type attachment struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
}

// gc removes every cached attachment of this network not in --valid (by DEL), then sends
// GC with the valid attachments to each plugin, collecting errors.
func gc(ctx context.Context, cni *libcni.CNIConfig, e *pluginExec, list *libcni.NetworkConfigList, paths []string, o *options, want string) error {
	valid := []attachment{}
	keep := map[string]bool{}
	for _, v := range o.valid {
		parts := strings.SplitN(v, "/", 2)
		if len(parts) != 2 {
			return runtimeError(4, "--valid %q is not ID/IFNAME", v)
		}
		valid = append(valid, attachment{parts[0], parts[1]})
		keep[v] = true
	}
	var errs []string
	for _, a := range cached(o.cacheDir, list.Name) {
		if keep[a.ContainerID+"/"+a.IfName] {
			continue
		}
		rt := &libcni.RuntimeConf{ContainerID: a.ContainerID, IfName: a.IfName}
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			errs = append(errs, fmt.Sprintf("DEL %s/%s: %v", a.ContainerID, a.IfName, err))
		}
	}
	if atLeast11(want) {
		extra := map[string]interface{}{"cni.dev/valid-attachments": valid}
		for _, p := range list.Plugins {
			stdin, err := pluginConfig(list, p, want, extra)
			if err != nil {
				return runtimeError(0, "%v", err)
			}
			if err := e.call(ctx, p.Network.Type, paths, "GC", stdin, nil); err != nil {
				errs = append(errs, err.Error())
			}
		}
	} else {
		fmt.Fprintf(os.Stderr, "cni-runtime: plugin GC needs cniVersion 1.1.0 (config is %s); cached attachments only\n", want)
	}
	if len(errs) > 0 {
		return runtimeError(0, "gc: %s", strings.Join(errs, "; "))
	}
	return nil
}

// cached lists the attachments of network `name` in libcni's result cache.
func cached(cacheDir, name string) []attachment {
	files, _ := filepath.Glob(filepath.Join(cacheDir, "results", name+"-*"))
	sort.Strings(files)
	var out []attachment
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var c struct {
			Kind        string `json:"kind"`
			ContainerID string `json:"containerId"`
			IfName      string `json:"ifName"`
			NetworkName string `json:"networkName"`
		}
		if json.Unmarshal(data, &c) == nil && c.Kind == libcni.CNICacheV1 && c.NetworkName == name {
			out = append(out, attachment{c.ContainerID, c.IfName})
		}
	}
	return out
}

// versions asks each plugin of the list for the versions it supports.
func versions(ctx context.Context, e *pluginExec, list *libcni.NetworkConfigList, paths []string) error {
	var all []map[string]interface{}
	for _, p := range list.Plugins {
		var out []byte
		err := e.call(ctx, p.Network.Type, paths, "VERSION", []byte(`{"cniVersion":"1.1.0"}`), &out)
		if err != nil {
			return err
		}
		var info map[string]interface{}
		if err := json.Unmarshal(out, &info); err != nil {
			return runtimeError(0, "%s: bad VERSION answer: %v", p.Network.Type, err)
		}
		all = append(all, map[string]interface{}{"type": p.Network.Type, "supportedVersions": info["supportedVersions"]})
	}
	out, _ := json.Marshal(all)
	fmt.Println(string(out))
	return nil
}
