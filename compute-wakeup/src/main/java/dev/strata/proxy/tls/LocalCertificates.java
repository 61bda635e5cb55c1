package dev.strata.proxy.tls;

import dev.strata.pgcore.fs.CrashSafe;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;

/**
 * The proxy's TLS identity for local use: a private CA and a server certificate it signs,
 * kept in one directory so clients can verify the proxy with {@code sslrootcert=<dir>/ca.crt
 * sslmode=verify-full}. Created on first use, reused afterwards:
 *
 * <pre>
 * ca.crt      the CA certificate (give this to clients)
 * ca.key      the CA's private key (PKCS#8 PEM, mode 600; only to issue server.crt again)
 * server.crt  the proxy's certificate: DNS localhost, *.localhost, IP 127.0.0.1
 * server.key  its private key (PKCS#8 PEM, mode 600)
 * </pre>
 *
 * With the wildcard name, host {@code <endpoint>.localhost} verifies and its first label, sent
 * as SNI, names the endpoint. Keys are ECDSA P-256.
 */
public final class LocalCertificates {

    public static final String CA_CERT = "ca.crt";
    public static final String CA_KEY = "ca.key";
    public static final String SERVER_CERT = "server.crt";
    public static final String SERVER_KEY = "server.key";
    /** The names the server certificate covers. */
    public static final List<String> DNS_NAMES = List.of("localhost", "*.localhost");

    private static final Logger log = LoggerFactory.getLogger(LocalCertificates.class);
    private static final Duration VALIDITY = Duration.ofDays(3650);

    private final Path dir;

    private LocalCertificates(Path dir) {
        this.dir = dir;
    }

    /** The certificates in {@code dir}, generated there first if any of the four files is missing. */
    public static LocalCertificates inDirectory(Path dir) {
        LocalCertificates certs = new LocalCertificates(dir.toAbsolutePath().normalize());
        try {
            Files.createDirectories(certs.dir);
            if (!List.of(CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY).stream().allMatch(f -> Files.isRegularFile(certs.dir.resolve(f)))) {
                certs.generate();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("TLS directory " + dir + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("could not generate TLS certificates in " + dir + ": " + e.getMessage(), e);
        }
        return certs;
    }

    public Path directory() {
        return dir;
    }

    public Path caCertificate() {
        return dir.resolve(CA_CERT);
    }

    public Path serverCertificate() {
        return dir.resolve(SERVER_CERT);
    }

    public Path serverKey() {
        return dir.resolve(SERVER_KEY);
    }

    /** A server SslContext (TLS 1.2/1.3) on server.crt and server.key. */
    public SslContext serverContext() {
        try {
            return SslContextBuilder.forServer(serverCertificate().toFile(), serverKey().toFile())
                    .protocols("TLSv1.3", "TLSv1.2").build();
        } catch (SSLException e) {
            throw new IllegalStateException("TLS files in " + dir + " are unusable: " + e.getMessage(), e);
        }
    }

    private void generate() throws IOException, GeneralSecurityException, OperatorCreationException {
        SecureRandom random = new SecureRandom();
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"), random);
        KeyPair caKeys = gen.generateKeyPair();
        KeyPair serverKeys = gen.generateKeyPair();
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        Instant now = Instant.now();
        Date from = Date.from(now.minus(Duration.ofDays(1)));
        Date to = Date.from(now.plus(VALIDITY));

        X500Name caName = new X500Name("CN=Strata local proxy CA");
        X509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, new BigInteger(64, random).abs(),
                from, to, caName, caKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(caKeys.getPublic()));
        X509Certificate caCert = sign(ca, caKeys.getPrivate());

        List<GeneralName> names = new ArrayList<>();
        DNS_NAMES.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
        names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
        X509v3CertificateBuilder server = new JcaX509v3CertificateBuilder(caCert, new BigInteger(64, random).abs(),
                from, to, new X500Name("CN=localhost"), serverKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(serverKeys.getPublic()))
                .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
        X509Certificate serverCert = sign(server, caKeys.getPrivate());

        writeKey(dir.resolve(CA_KEY), caKeys.getPrivate());
        writeKey(dir.resolve(SERVER_KEY), serverKeys.getPrivate());
        CrashSafe.writeAtomically(dir.resolve(SERVER_CERT), pem("CERTIFICATE", serverCert.getEncoded()));
        CrashSafe.writeAtomically(dir.resolve(CA_CERT), pem("CERTIFICATE", caCert.getEncoded()));
        log.info("generated a local CA and server certificate in {}", dir);
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
            throws OperatorCreationException, GeneralSecurityException {
        X509CertificateHolder holder = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key));
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    /** Created mode 600 from its first byte (never readable by others, not even briefly). */
    private static void writeKey(Path file, PrivateKey key) throws IOException {
        CrashSafe.writeAtomically(file, pem("PRIVATE KEY", key.getEncoded()), PosixFilePermissions.fromString("rw-------"));
    }

    private static byte[] pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(der);
        return ("-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n").getBytes(StandardCharsets.US_ASCII);
    }
}
