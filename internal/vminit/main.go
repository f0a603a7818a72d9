// Command vminit is the first process of the emulated test machine that
// .ci/avx512 boots: Linux under Bochs with an AVX-512 CPU model, so that
// the AVX-512 kernels are tested on a machine that lacks AVX-512. It runs
// each line of /vmtests (a test binary in / and its flags) with the
// environment in /vmenv, prints "vminit: exit N" for each and "vminit:
// done", then powers the machine off. It is built static (CGO_ENABLED=0)
// and does nothing useful outside such a machine.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "vminit: not process 1; this runs only as the init of the emulated test machine")
		os.Exit(2)
	}
	run()
	fmt.Println("vminit: done")
	os.Stdout.Sync()
	time.Sleep(time.Second) // let the serial console drain
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}

func run() {
	env := append(os.Environ(), "HOME=/", "TMPDIR=/tmp")
	if b, err := os.ReadFile("/vmenv"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				env = append(env, l)
			}
		}
	}
	// Test binaries want /dev/null and friends and a /proc.
	if err := syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""); err != nil {
		fmt.Println("vminit: mount /dev:", err)
	}
	if err := os.MkdirAll("/proc", 0o755); err == nil {
		if err := syscall.Mount("proc", "/proc", "proc", 0, ""); err != nil {
			fmt.Println("vminit: mount /proc:", err)
		}
	}
	if err := os.MkdirAll("/tmp", 0o1777); err != nil {
		fmt.Println("vminit:", err)
	}
	f, err := os.Open("/vmtests")
	if err != nil {
		fmt.Println("vminit:", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		args := strings.Fields(sc.Text())
		if len(args) == 0 {
			continue
		}
		fmt.Println("vminit: run", strings.Join(args, " "))
		cmd := exec.Command("/"+args[0], args[1:]...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		code := 0
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else {
				fmt.Println("vminit:", err)
				code = -1
			}
		}
		fmt.Printf("vminit: exit %d\n", code)
	}
}
