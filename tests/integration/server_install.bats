#!/usr/bin/env bats
# `meson install` (DESIGN §8): the tree of this test file, configured with a
# --prefix and installed into a DESTDIR, lands exactly as documented — the
# binary, both man pages, the user units (with the installed binary's path),
# the bash completion, the example configs, and the mount helper with its
# mount.fuse.collectionsfs link in /sbin whatever the prefix. The units pass
# `systemd-analyze verify`, the man pages `mandoc -T lint -W style`, and the
# completion completes what `collectionsfs --help` offers.
#
# systemd-analyze verify checks that ExecStart's binary exists and that the
# Documentation= pages are found by man(1): the prefix is made a symlink to
# the installed tree, and MANPATH points into it. It needs no running systemd.

load '../lib/common'

setup_file() {
    T="$BATS_FILE_TMPDIR"
    PREFIX="$T/prefix"
    DEST="$T/dest"
    export T PREFIX DEST
    {
        timeout 300 meson setup "$T/build" "$REPO_DIR" --prefix="$PREFIX" &&
            timeout 600 ninja -C "$T/build" &&
            DESTDIR="$DEST" timeout 120 meson install -C "$T/build" --no-rebuild
    } >"$T/install.log" 2>&1 || { tail -n 40 "$T/install.log"; return 1; }
    ln -s "$DEST$PREFIX" "$PREFIX"
}

teardown() {
    [ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 20 "$T/install.log"
}

# verify UNIT...: systemd-analyze verify --user, which must print nothing.
verify() {
    local rt
    rt=$(mktemp -d "$BATS_TEST_TMPDIR/rt.XXXXXX") # the user manager wants a runtime dir
    run env XDG_RUNTIME_DIR="$rt" MANPATH="$PREFIX/share/man" SYSTEMD_LOG_COLOR=0 \
        timeout 60 systemd-analyze verify --user "$@"
    echo "systemd-analyze verify --user $*: status $status"
    echo "$output"
    [ "$status" -eq 0 ] && [ -z "$output" ]
}

# complete_line LINE: COMPREPLY for the cursor at the end of LINE, one per line,
# with COMP_WORDS split as bash splits them (at blanks, "=" and ":").
complete_line() {
    bash -c '
source "$1"
COMP_LINE=$2 COMP_POINT=${#2}
l=${2//=/ = }
l=${l//:/ : }
read -ra COMP_WORDS <<<"$l"
[[ $2 == *[[:space:]] ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_collectionsfs
printf "%s\n" "${COMPREPLY[@]}"' _ "$PREFIX/share/bash-completion/completions/collectionsfs" "$1"
}

@test "install: exactly the documented files land, under the prefix and in /sbin" {
    cat >"$T/want" <<EOF
$PREFIX/bin/collectionsfs
$PREFIX/lib/systemd/user/collectionsfs.service
$PREFIX/lib/systemd/user/collectionsfs@.service
$PREFIX/share/bash-completion/completions/collectionsfs
$PREFIX/share/doc/collectionsfs/collectionsfs.example.conf
$PREFIX/share/doc/collectionsfs/fstab.example
$PREFIX/share/man/man1/collectionsfs.1
$PREFIX/share/man/man5/collectionsfs.conf.5
/sbin/mount.collectionsfs
/sbin/mount.fuse.collectionsfs
EOF
    (cd "$DEST" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort) >"$T/got"
    LC_ALL=C sort -o "$T/want" "$T/want"
    diff -u "$T/want" "$T/got"
    [ -x "$PREFIX/bin/collectionsfs" ]
    [ -x "$DEST/sbin/mount.collectionsfs" ]
    # the installed binary runs, and is the one just built
    run "$PREFIX/bin/collectionsfs" --version
    [ "$status" -eq 0 ] && [ "$output" = "$("$T/build/collectionsfs" --version)" ]
}

@test "install: mount.fuse.collectionsfs is a link to the helper and works by that name" {
    [ -L "$DEST/sbin/mount.fuse.collectionsfs" ]
    [ "$(readlink "$DEST/sbin/mount.fuse.collectionsfs")" = mount.collectionsfs ]
    [ "$(readlink -f "$DEST/sbin/mount.fuse.collectionsfs")" = "$DEST/sbin/mount.collectionsfs" ]
    cmp "$DEST/sbin/mount.collectionsfs" "$REPO_DIR/contrib/mount.collectionsfs"
    # -f: mount(8)'s "fake" mode, which prints the command it would run
    run timeout 10 "$DEST/sbin/mount.fuse.collectionsfs" /etc/cfs.conf /mnt/c -f -o allow_other,_netdev,noauto
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "mount.fuse.collectionsfs: collectionsfs -c /etc/cfs.conf -o allow_other /mnt/c" ]
}

@test "install: -Dmount_helper_dir= (empty) installs no helper, the rest stays" {
    local got
    # the same question of the default build names the helper (the check can fail)
    meson introspect --installed "$T/build" | grep -q '"/sbin/mount.collectionsfs"'
    timeout 120 meson setup "$T/build-nohelper" "$REPO_DIR" --prefix="$PREFIX" -Dmount_helper_dir= \
        -Dsystemd_user_unit_dir="$T/units" >/dev/null
    got=$(meson introspect --installed "$T/build-nohelper" |
        python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin).values())))')
    echo "$got"
    ! grep -q "/mount\." <<<"$got" || false
    grep -qx "$T/units/collectionsfs@.service" <<<"$got"
    grep -qx "$PREFIX/bin/collectionsfs" <<<"$got"
}

@test "install: the units name the installed binary and pass systemd-analyze verify" {
    local u
    for u in collectionsfs.service collectionsfs@.service; do
        ! grep -n '@[a-z]*@' "$PREFIX/lib/systemd/user/$u" || false
        grep -qx "ExecStart=$PREFIX/bin/collectionsfs -f -c .*" "$PREFIX/lib/systemd/user/$u"
        grep -qx 'Type=notify' "$PREFIX/lib/systemd/user/$u"
    done
    verify "$PREFIX/lib/systemd/user/collectionsfs.service"
    # the template, and an instance of it (systemd finds the template beside it)
    verify "$PREFIX/lib/systemd/user/collectionsfs@.service"
    verify "$PREFIX/lib/systemd/user/collectionsfs@work.service"
    grep -q "ExecStart=.* -c %h/.config/collectionsfs/%i.conf %h/Collections/%i\$" \
        "$PREFIX/lib/systemd/user/collectionsfs@.service"
}

@test "install: verify catches a broken unit (the check can fail)" {
    mkdir -p "$T/broken"
    sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/collectionsfs|' \
        "$PREFIX/lib/systemd/user/collectionsfs.service" >"$T/broken/collectionsfs.service"
    ! verify "$T/broken/collectionsfs.service" || false
    sed 's|^Type=notify|Type=notifyy|' "$PREFIX/lib/systemd/user/collectionsfs.service" \
        >"$T/broken/collectionsfs.service"
    ! verify "$T/broken/collectionsfs.service" || false
}

@test "man: mandoc -T lint -W style says nothing about either page" {
    local page
    for page in "$REPO_DIR/man/collectionsfs.1" "$REPO_DIR/man/collectionsfs.conf.5"; do
        run mandoc -T lint -W style "$page"
        echo "mandoc -T lint -W style $page: status $status"
        echo "$output"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
    done
    # what was installed is what was linted
    cmp "$REPO_DIR/man/collectionsfs.1" "$PREFIX/share/man/man1/collectionsfs.1"
    cmp "$REPO_DIR/man/collectionsfs.conf.5" "$PREFIX/share/man/man5/collectionsfs.conf.5"
}

@test "completion: loads on its own and registers for collectionsfs" {
    run bash -c 'source "$1" && complete -p collectionsfs' _ \
        "$PREFIX/share/bash-completion/completions/collectionsfs"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "complete -F _collectionsfs collectionsfs" ]
}

@test "completion: options, -c files, mount point and --status directories, -o values" {
    mkdir -p "$BATS_TEST_TMPDIR/d/mnt-a" "$BATS_TEST_TMPDIR/d/mnt-b"
    touch "$BATS_TEST_TMPDIR/d/my.conf"
    cd "$BATS_TEST_TMPDIR/d"
    [ "$(complete_line 'collectionsfs --ch')" = --check ]
    [ "$(complete_line 'collectionsfs --li')" = --list-types ]
    [ "$(complete_line 'collectionsfs --sta')" = --status ]
    [ "$(complete_line 'collectionsfs -c my')" = my.conf ]
    [ "$(complete_line 'collectionsfs --config=my')" = my.conf ] # bash's word is after "="
    [ "$(complete_line 'collectionsfs -c my.conf mnt' | sort | tr '\n' ' ')" = "mnt-a mnt-b " ]
    [ "$(complete_line 'collectionsfs -c my.conf my')" = "" ] # a mount point is a directory
    [ "$(complete_line 'collectionsfs --status mnt-b')" = mnt-b ]
    [ "$(complete_line 'collectionsfs --status=mnt-a')" = mnt-a ]
    [ "$(complete_line 'collectionsfs -o tt')" = ttl= ]
    [ "$(complete_line 'collectionsfs -o ti')" = timeout= ]
    [ "$(complete_line 'collectionsfs -o allow_other,au')" = allow_other,auto_unmount ]
    [ "$(complete_line 'collectionsfs -o ttl=60,ti')" = 60,timeout= ] # bash's word is after "="
}

@test "completion: after --check, the sections of the config file in use" {
    mkdir -p "$BATS_TEST_TMPDIR/home/.config/collectionsfs" "$BATS_TEST_TMPDIR/d/honcho-dir"
    printf '[global]\nttl = 60\n[honcho-work]\ntype = honcho\n [hivo]\n[honcho-lab] ; note\n' \
        >"$BATS_TEST_TMPDIR/d/my.conf"
    printf '[global]\n[fount]\ntype = fount\n' >"$BATS_TEST_TMPDIR/home/.config/collectionsfs/config"
    cd "$BATS_TEST_TMPDIR/d"
    [ "$(complete_line 'collectionsfs -c my.conf --check ' | tr '\n' ' ')" = "honcho-work hivo honcho-lab " ]
    [ "$(complete_line 'collectionsfs --check --config=my.conf honcho-w')" = honcho-work ]
    [ "$(complete_line 'collectionsfs --check -c my.conf hivo honcho-' | tr '\n' ' ')" = "honcho-work honcho-lab " ]
    # without -c, the file collectionsfs itself would read
    [ "$(HOME=$BATS_TEST_TMPDIR/home XDG_CONFIG_HOME= complete_line 'collectionsfs --check ')" = fount ]
    # without --check, a word is still a mount point
    [ "$(complete_line 'collectionsfs -c my.conf honcho' | tr '\n' ' ')" = "honcho-dir " ]
}

@test "completion: offers every option and -o value that collectionsfs --help lists" {
    local help offered o missing=()
    help=$("$PREFIX/bin/collectionsfs" --help)
    offered=$(complete_line 'collectionsfs -')
    # option lines of --help start with blanks and a dash
    while read -r o; do
        grep -qxF -- "$o" <<<"$offered" || missing+=("$o")
    done < <(grep -E '^\s+-' <<<"$help" | grep -oP '(?<![\w-])--?[A-Za-z][\w-]*=?' | sort -u)
    offered=$(complete_line 'collectionsfs -o ')
    while read -r o; do
        grep -qxE -- "${o%=}=?" <<<"$offered" || missing+=("-o $o")
    done < <(grep -E '^\s+-' <<<"$help" | grep -oP '(?<=-o )[a-z_]+=?' | sort -u)
    echo "--help lists, the completion does not offer: ${missing[*]}"
    [ "${#missing[@]}" -eq 0 ]
}
