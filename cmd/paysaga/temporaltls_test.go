package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paysaga/paysaga/app"
	"github.com/paysaga/paysaga/codec"
)

// testCA is a throwaway certificate authority that issues the loopback server's and the
// client's certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paysaga test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate and key in PEM for name, for a server or a client.
func (ca *testCA) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// temporalConnections parses the api command's connection settings from the environment.
func temporalConnections(t *testing.T) connections {
	t.Helper()
	s := newSettings("api")
	c := s.connections()
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// The TLS settings build a client that checks the server's certificate against
// TEMPORAL_TLS_CA and its name, and shows its own certificate to a server that demands
// one (mTLS): checked here with a loopback TLS listener that requires a client certificate
// from the same CA.
func TestTemporalTLS_MutualTLSWithCA_HandshakeChecksBothCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, "temporal.internal", x509.ExtKeyUsageServerAuth)
	clientCert, clientKey := ca.issue(t, "paysaga-worker", x509.ExtKeyUsageClientAuth)
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AddCert(ca.cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan string, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := conn.(*tls.Conn)
			if tc.Handshake() == nil {
				seen <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			}
			tc.Close()
		}
	}()

	t.Setenv("TEMPORAL_ADDRESS", ln.Addr().String())
	t.Setenv("TEMPORAL_TLS_CERT", writeFile(t, dir, "client.pem", clientCert))
	t.Setenv("TEMPORAL_TLS_KEY", writeFile(t, dir, "client.key", clientKey))
	t.Setenv("TEMPORAL_TLS_CA", writeFile(t, dir, "ca.pem", ca.pem))
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", "temporal.internal")
	t.Setenv("TEMPORAL_API_KEY", "tk_test_key")
	conns := temporalConnections(t)
	settings, err := conns.settings(mustTestCodec(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := app.TemporalClientOptions(settings)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ConnectionOptions.TLS == nil || opts.Credentials == nil {
		t.Fatalf("client options: TLS %v, credentials %v", opts.ConnectionOptions.TLS, opts.Credentials)
	}

	conn, err := tls.Dial("tcp", ln.Addr().String(), opts.ConnectionOptions.TLS)
	if err != nil {
		t.Fatalf("handshake with the CA's server: %v", err)
	}
	conn.Close()
	if got := <-seen; got != "paysaga-worker" {
		t.Fatalf("the server saw client certificate %q", got)
	}

	// The same server under another name is refused: the name is checked, not just the CA.
	wrongName := opts.ConnectionOptions.TLS.Clone()
	wrongName.ServerName = "other.internal"
	if conn, err := tls.Dial("tcp", ln.Addr().String(), wrongName); err == nil {
		conn.Close()
		t.Fatal("handshake succeeded with a server certificate for another name")
	}
	// And a server of another CA is refused.
	other := newTestCA(t)
	t.Setenv("TEMPORAL_TLS_CA", writeFile(t, dir, "other-ca.pem", other.pem))
	otherCA, err := temporalConnections(t).temporalTLS()
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := tls.Dial("tcp", ln.Addr().String(), otherCA); err == nil {
		conn.Close()
		t.Fatal("handshake succeeded with a server of another CA")
	}
}

func TestTemporalTLS_HalfConfiguredOrEmpty(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := newTestCA(t).issue(t, "paysaga-worker", x509.ExtKeyUsageClientAuth)
	cert, key := writeFile(t, dir, "c.pem", certPEM), writeFile(t, dir, "c.key", keyPEM)

	t.Run("certificate without key", func(t *testing.T) {
		t.Setenv("TEMPORAL_TLS_CERT", cert)
		if _, err := temporalConnections(t).temporalTLS(); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_KEY") {
			t.Fatalf("want a refusal naming TEMPORAL_TLS_KEY, got %v", err)
		}
	})
	t.Run("key without certificate", func(t *testing.T) {
		t.Setenv("TEMPORAL_TLS_KEY", key)
		if _, err := temporalConnections(t).temporalTLS(); err == nil {
			t.Fatal("a key without its certificate was accepted")
		}
	})
	t.Run("CA file without a certificate", func(t *testing.T) {
		t.Setenv("TEMPORAL_TLS_CA", writeFile(t, dir, "empty.pem", []byte("not a certificate\n")))
		if _, err := temporalConnections(t).temporalTLS(); err == nil {
			t.Fatal("a CA file without certificates was accepted")
		}
	})
	t.Run("nothing set: plaintext, as the dev stack", func(t *testing.T) {
		cfg, err := temporalConnections(t).temporalTLS()
		if err != nil || cfg != nil {
			t.Fatalf("want no TLS, got %v, %v", cfg, err)
		}
		opts, err := app.TemporalClientOptions(app.Settings{Codec: mustTestCodec(t)})
		if err != nil || opts.ConnectionOptions.TLS != nil || opts.Credentials != nil {
			t.Fatalf("options: TLS %v, credentials %v, %v", opts.ConnectionOptions.TLS, opts.Credentials, err)
		}
	})
	t.Run("API key alone: TLS with the system's roots", func(t *testing.T) {
		t.Setenv("TEMPORAL_API_KEY", "tk_test_key")
		c := temporalConnections(t)
		s, err := c.settings(mustTestCodec(t), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := app.TemporalClientOptions(s)
		if err != nil || opts.ConnectionOptions.TLS == nil || opts.Credentials == nil {
			t.Fatalf("options: TLS %v, credentials %v, %v", opts.ConnectionOptions.TLS, opts.Credentials, err)
		}
		if c.apiKey.String() == "tk_test_key" {
			t.Fatal("the API key shows in the flag's text")
		}
	})
}

func mustTestCodec(t *testing.T) *codec.Codec {
	t.Helper()
	c, err := codec.New(codec.NewKey("t1"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
