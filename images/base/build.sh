#!/bin/sh
# Build godocker/base:latest with no registry: a root file system made of
# Debian's busybox-static and bash-static, imported with `docker import`.
# Usage: images/base/build.sh [TAG]
set -eu
tag=${1:-godocker/base:latest}
for f in /bin/busybox /bin/bash-static; do
	if [ ! -x "$f" ]; then
		echo "build.sh: $f is missing: apt-get install busybox-static bash-static (or run make deps)" >&2
		exit 1
	fi
done
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/tmp" \
	"$root/var/tmp" "$root/home" "$root/root" "$root/proc" "$root/sys" "$root/dev"
cp /bin/busybox "$root/bin/busybox"
cp /bin/bash-static "$root/bin/bash"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s /bin/bash "$root/usr/bin/bash"
ln -s /bin/env "$root/usr/bin/env"
ln -s /bin/sh "$root/usr/bin/sh"
chmod 1777 "$root/tmp" "$root/var/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar -C "$root" -c . | docker import \
	-c 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
	-c 'CMD ["/bin/sh"]' \
	-m "GoDocker base image: busybox-static + bash-static" - "$tag" >/dev/null
echo "built $tag"
