package dev.strata.proxy.testing;

import javax.net.SocketFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;

/**
 * For pgjdbc's {@code socketFactory}: connects to 127.0.0.1 whatever host the URL names, so
 * {@code jdbc:postgresql://ep1.localhost:port/...} reaches the proxy while TLS still sends
 * SNI {@code ep1.localhost} and verifies the certificate against that name (what libpq's
 * {@code hostaddr} does for psql). This machine's resolver does not map *.localhost.
 */
public final class LoopbackSocketFactory extends SocketFactory {

    @Override
    public Socket createSocket() {
        return new Socket() {
            @Override
            public void connect(SocketAddress endpoint, int timeout) throws IOException {
                int port = ((InetSocketAddress) endpoint).getPort();
                super.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), timeout);
            }
        };
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        Socket s = createSocket();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return s;
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return createSocket(host, port);
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return createSocket("127.0.0.1", port);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return createSocket("127.0.0.1", port);
    }
}
