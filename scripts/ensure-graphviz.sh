#!/bin/sh
# Install Graphviz's `dot` from the Debian package `graphviz` when it is missing.
command -v dot >/dev/null 2>&1 && exit 0
echo "Graphviz 'dot' not found: installing the Debian package 'graphviz'" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "cannot install graphviz without root: run 'apt-get install graphviz' as root" >&2; exit 1; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq graphviz >/dev/null
else
  echo "no apt-get here: install Graphviz with your system's package manager" >&2; exit 1
fi
command -v dot >/dev/null 2>&1
