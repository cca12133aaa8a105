// Verifies the TRM ledger with Go's golang.org/x/mod/sumdb/note and sumdb/tlog (issue 15):
// a tool we did not write. Usage:
//
//	ledger-verify <vkey file> <checkpoint file> <leaf hashes file (hex, one per line)> <inclusion proof json> <consistency proof json>
//
// Prints what it verified; exits 1 on any failure.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAILED: "+format+"\n", args...)
	os.Exit(1)
}

func hash(s string) tlog.Hash {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		fail("not a hex SHA-256: %q", s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h
}

func read(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	return b
}

type inclusion struct {
	Index     int64    `json:"index"`
	TreeSize  int64    `json:"treeSize"`
	LeafHash  string   `json:"leafHash"`
	AuditPath []string `json:"auditPath"`
}

type consistency struct {
	FirstTreeSize  int64    `json:"firstTreeSize"`
	SecondTreeSize int64    `json:"secondTreeSize"`
	FirstRootHash  string   `json:"firstRootHash"`
	Proof          []string `json:"proof"`
}

func main() {
	if len(os.Args) != 6 {
		fail("usage: ledger-verify <vkey> <checkpoint> <leaves> <inclusion.json> <consistency.json>")
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(read(os.Args[1]))))
	if err != nil {
		fail("vkey: %v", err)
	}
	n, err := note.Open(read(os.Args[2]), note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint: not origin, size, root")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint root: not base64 of 32 bytes")
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	fmt.Printf("note: signed by %s (key id %08x), origin %s, tree size %d, root %x\n", n.Sigs[0].Name, n.Sigs[0].Hash, lines[0], size, root[:])

	// The tree from its leaf hashes, with tlog's own storage layout and hashing.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	f, err := os.Open(os.Args[3])
	if err != nil {
		fail("%v", err)
	}
	scanner := bufio.NewScanner(f)
	var count int64
	for scanner.Scan() {
		if scanner.Text() == "" {
			continue
		}
		more, err := tlog.StoredHashesForRecordHash(count, hash(scanner.Text()), reader)
		if err != nil {
			fail("leaf %d: %v", count, err)
		}
		stored = append(stored, more...)
		count++
	}
	if count < size {
		fail("%d leaf hashes, the checkpoint covers %d", count, size)
	}
	th, err := tlog.TreeHash(size, reader)
	if err != nil {
		fail("tree hash: %v", err)
	}
	if th != root {
		fail("tlog.TreeHash of the %d leaves is %x, the checkpoint says %x", size, th[:], root[:])
	}
	fmt.Printf("tlog: the tree of the %d leaf hashes has the checkpoint's root\n", size)

	var inc inclusion
	if err := json.Unmarshal(read(os.Args[4]), &inc); err != nil {
		fail("inclusion proof: %v", err)
	}
	var rp tlog.RecordProof
	for _, h := range inc.AuditPath {
		rp = append(rp, hash(h))
	}
	if inc.TreeSize != size {
		fail("the inclusion proof is for tree size %d, the checkpoint for %d", inc.TreeSize, size)
	}
	if err := tlog.CheckRecord(rp, size, root, inc.Index, hash(inc.LeafHash)); err != nil {
		fail("inclusion proof of leaf %d: %v", inc.Index, err)
	}
	fmt.Printf("tlog: the ledger's inclusion proof of leaf %d (%s) checks against the checkpoint\n", inc.Index, inc.LeafHash)

	var con consistency
	if err := json.Unmarshal(read(os.Args[5]), &con); err != nil {
		fail("consistency proof: %v", err)
	}
	var tp tlog.TreeProof
	for _, h := range con.Proof {
		tp = append(tp, hash(h))
	}
	if con.SecondTreeSize != size {
		fail("the consistency proof ends at %d, the checkpoint at %d", con.SecondTreeSize, size)
	}
	if err := tlog.CheckTree(tp, size, root, con.FirstTreeSize, hash(con.FirstRootHash)); err != nil {
		fail("consistency proof from %d: %v", con.FirstTreeSize, err)
	}
	fmt.Printf("tlog: the ledger's consistency proof from tree size %d to %d checks\n", con.FirstTreeSize, size)
	fmt.Println("OK")
}
