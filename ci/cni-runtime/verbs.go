package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
)

// attach runs ADD, CHECK or DEL for one attachment through libcni's list API, which
// chains prevResult, keeps the result cache and refuses CHECK below 0.4.0.
func attach(ctx context.Context, verb string, cni *libcni.CNIConfig, e *pluginExec, nw *network, rt *libcni.RuntimeConf) error {
	switch verb {
	case "add":
		result, err := cni.AddNetworkList(ctx, nw.list, rt)
		if err != nil {
			return err
		}
		return printResult(result, e)
	case "check":
		return cni.CheckNetworkList(ctx, nw.list, rt)
	default:
		return cni.DelNetworkList(ctx, nw.list, rt)
	}
}

// printResult prints the ADD result indented, in the version the last plugin answered
// with (libcni saw it as libcniVersion when the config is newer).
func printResult(result types.Result, e *pluginExec) error {
	out, err := json.Marshal(result)
	if err != nil {
		return refuse(types.ErrUnknown, "encoding result: %v", err)
	}
	if e.translate && e.answered == e.wire {
		out = withVersion(out, e.wire)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, out, "", "    "); err != nil {
		return refuse(types.ErrUnknown, "encoding result: %v", err)
	}
	fmt.Println(indented.String())
	return nil
}

// pluginVersions is one plugin's answer to VERSION.
type pluginVersions struct {
	Type      string   `json:"type"`
	Supported []string `json:"supportedVersions"`
}

// versions asks each plugin of the list which spec versions it supports, the way libcni
// does (GetVersionInfo), and prints [{"type":..,"supportedVersions":[..]}].
func versions(ctx context.Context, e *pluginExec, nw *network, paths []string) error {
	all := []pluginVersions{}
	for _, p := range nw.list.Plugins {
		path, err := e.FindInPath(p.Network.Type, paths)
		if err != nil {
			return refuse(types.ErrUnknown, "%v", err)
		}
		info, err := invoke.GetVersionInfo(ctx, path, e)
		if err != nil {
			return err
		}
		all = append(all, pluginVersions{Type: p.Network.Type, Supported: info.SupportedVersions()})
	}
	out, err := json.Marshal(all)
	if err != nil {
		return refuse(types.ErrUnknown, "encoding versions: %v", err)
	}
	fmt.Println(string(out))
	return nil
}
