package dev.strata.proxy.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LocalCertificatesTest {

    private static X509Certificate read(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    @Test
    void generatesACaAndAServerCertificateForStarDotLocalhostOnceThenReusesThem(@TempDir Path dir) throws Exception {
        LocalCertificates first = LocalCertificates.inDirectory(dir.resolve("tls"));
        byte[] ca = Files.readAllBytes(first.caCertificate());
        X509Certificate caCert = read(first.caCertificate());
        X509Certificate server = read(first.serverCertificate());

        server.verify(caCert.getPublicKey());
        assertThat(caCert.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(server.getBasicConstraints()).isEqualTo(-1);
        List<String> names = server.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1))).toList();
        assertThat(names).containsExactlyInAnyOrder("localhost", "*.localhost", "127.0.0.1");
        assertThat(server.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(first.serverKey()))).isEqualTo("rw-------");
        assertThat(first.serverContext().isServer()).isTrue();

        LocalCertificates again = LocalCertificates.inDirectory(dir.resolve("tls"));
        assertThat(Files.readAllBytes(again.caCertificate())).isEqualTo(ca);
        try (var files = Files.list(dir.resolve("tls"))) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .isEqualTo(List.of("ca.crt", "ca.key", "server.crt", "server.key"));
        }
    }
}
