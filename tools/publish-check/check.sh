#!/usr/bin/env bash
# Packs the core (with its model package) and the vision package, then publishes a console app that
# references only the core package and calls TextEmbedder.Load(), for linux-x64 (framework-dependent).
# Fails unless: the core package has no native asset and no SkiaSharp/ONNX Runtime/ML.NET dependency;
# the vision package carries SkiaSharp; the published app holds no native library (.so, onnxruntime,
# SkiaSharp, HarfBuzz, Microsoft.ML.*), is within 100 MB (10^8 bytes) including the model, and runs.
# Usage: tools/publish-check/check.sh [work-dir]   (default: a fresh temporary directory)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${1:-$(mktemp -d -t repshift-publish-check-XXXXXX)}"
version=0.1.0
limit=100000000
feed="$work/feed"; app="$work/app"; out="$work/publish"
rm -rf "$feed" "$app" "$out" "$work/packages"; mkdir -p "$feed"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

echo "== packing into $feed"
for p in RepShift.Models.MiniLM RepShift RepShift.Vision; do
  dotnet pack "$root/src/$p/$p.csproj" -c Release -o "$feed" -p:Version=$version -nologo -v q >/dev/null
done

# A .nupkg is a zip: unzip where present, else Python's zipfile.
zipnames() { if command -v unzip >/dev/null; then unzip -Z1 "$1"; else python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1"; fi; }
zipcat() { if command -v unzip >/dev/null; then unzip -p "$1" "$2"; else python3 -c 'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())' "$1" "$2"; fi; }
nuspec() { zipcat "$feed/$1.$version.nupkg" "$1.nuspec"; }
echo "== RepShift.$version.nupkg"
core_deps="$(nuspec RepShift | grep -o 'dependency id="[^"]*"' | cut -d'"' -f2 | sort -u | tr '\n' ' ')"
echo "dependencies: $core_deps"
core_native="$(zipnames "$feed/RepShift.$version.nupkg" | grep -E '^runtimes/|\.(so|dylib)$|native' || true)"
[[ -z "$core_native" ]] && echo "native assets: none" || bad "native assets in the core package: $core_native"
for dep in $core_deps; do
  case "$dep" in SkiaSharp*|HarfBuzzSharp*|Microsoft.ML*|SentenceTransformers*) bad "core package depends on $dep";; esac
done
echo "== RepShift.Vision.$version.nupkg"
vision_deps="$(nuspec RepShift.Vision | grep -o 'dependency id="[^"]*"' | cut -d'"' -f2 | sort -u | tr '\n' ' ')"
echo "dependencies: $vision_deps"
[[ " $vision_deps " == *" SkiaSharp "* && " $vision_deps " == *" RepShift "* ]] || bad "vision package should depend on RepShift and SkiaSharp"

echo "== publishing a console app that references only RepShift $version"
cp -r "$root/tools/publish-check/app" "$app"
cat > "$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="repshift-local" value="$feed" />
  </packageSources>
</configuration>
XML
# A private packages folder so no cached RepShift $version from elsewhere is used; the user's cache
# serves third-party packages without a download.
dotnet publish "$app/EmbedCheck.csproj" -c Release -r linux-x64 --self-contained false -o "$out" -nologo -v q \
  -p:RepShiftVersion=$version -p:RestorePackagesPath="$work/packages" -p:RestoreFallbackFolders="$HOME/.nuget/packages" >/dev/null
[[ -d "$work/packages/repshift/$version" ]] || bad "RepShift $version was not restored from $feed"

echo "== $out"
(cd "$out" && find . -type f -printf '%10s  %P\n' | sort -k2)
bytes="$(find "$out" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')"
awk -v b="$bytes" -v l="$limit" 'BEGIN { printf "size: %d bytes (%.1f MB; limit %.0f MB)\n", b, b / 1e6, l / 1e6 }'
(( bytes <= limit )) || bad "publish output is $bytes bytes, over $limit"
native="$(cd "$out" && find . -type f \( -name '*.so' -o -name '*.so.*' -o -name '*.dylib' -o -iname '*onnxruntime*' -o -iname '*skiasharp*' -o -iname '*harfbuzz*' -o -name 'Microsoft.ML.*' \) -printf '%P ')"
[[ -d "$out/runtimes" ]] && native+="runtimes/ "
[[ -z "$native" ]] && echo "file list: no native library, no onnxruntime, SkiaSharp or Microsoft.ML.*" || bad "file list holds: $native"

echo "== running it"
"$out/EmbedCheck" || bad "the app did not embed"

(( fail == 0 )) && echo "publish-check: PASS" || echo "publish-check: FAIL"
exit $fail
