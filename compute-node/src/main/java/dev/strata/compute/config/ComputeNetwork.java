package dev.strata.compute.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where a compute's PostgreSQL listens and who may connect to it.
 *
 * <p>The local cluster keeps everything on loopback ({@link #LOOPBACK}). A compute in the AWS
 * compute pool is reached over the VPC: by the proxy (clients), by the safekeepers (they pull its
 * WAL over replication connections) and by the control plane's steps. There it listens on
 * {@code listenAddress} (e.g. {@code 0.0.0.0}), announces {@code advertisedHost} (the task's
 * private address) to the safekeepers and the control plane, and {@code pg_hba.conf} admits
 * {@code clientCidr} as well as loopback. Every connection still needs the password (SCRAM);
 * the security groups narrow the network further (docs/aws.md, "Flows").
 *
 * @param listenAddress  PostgreSQL's {@code listen_addresses}
 * @param advertisedHost the address others connect to
 * @param clientCidr     a network admitted besides 127.0.0.1/32 ({@code a.b.c.d/n}), or null
 */
public record ComputeNetwork(String listenAddress, String advertisedHost, String clientCidr) {

    /** Loopback only: the local cluster and the tests. */
    public static final ComputeNetwork LOOPBACK = new ComputeNetwork("127.0.0.1", "127.0.0.1", null);

    private static final Pattern IPV4_CIDR = Pattern.compile("(\\d{1,3}\\.){3}\\d{1,3}/(\\d|[12]\\d|3[0-2])");

    public ComputeNetwork {
        Objects.requireNonNull(listenAddress, "listenAddress is null");
        Objects.requireNonNull(advertisedHost, "advertisedHost is null");
        requireAddress("listen address", listenAddress);
        if (advertisedHost.isBlank() || advertisedHost.chars().anyMatch(c -> c <= ' ' || c == '\'' || c == '"')) {
            throw new IllegalArgumentException("advertised host '" + advertisedHost + "' is not a host name or address");
        }
        if (clientCidr != null) {
            if (!IPV4_CIDR.matcher(clientCidr).matches()) {
                throw new IllegalArgumentException("client network '" + clientCidr + "' is not an IPv4 CIDR such as 10.40.0.0/16");
            }
            requireAddress("client network", clientCidr.substring(0, clientCidr.indexOf('/')));
        }
    }

    private static void requireAddress(String what, String address) {
        if (!address.matches("[0-9.]+") && !address.matches("[0-9a-fA-F:]+")) {
            throw new IllegalArgumentException(what + " '" + address + "' is not an IP address");
        }
        try {
            InetAddress.getByName(address); // literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(what + " '" + address + "' is not an IP address", e);
        }
        if (address.matches("[0-9.]+")) {
            for (String octet : address.split("\\.")) {
                if (Integer.parseInt(octet) > 255) {
                    throw new IllegalArgumentException(what + " '" + address + "' is not an IP address");
                }
            }
        }
    }

    /**
     * PostgreSQL's {@code listen_addresses}: loopback is always among them, because the agent's
     * own connections (slots, activity, the commit-path monitor) come from 127.0.0.1.
     */
    public String listenAddresses() {
        if (listenAddress.equals("127.0.0.1") || listenAddress.equals("0.0.0.0") || listenAddress.equals("::")) {
            return listenAddress;
        }
        return "127.0.0.1," + listenAddress;
    }

    /**
     * {@code pg_hba.conf}: password authentication (SCRAM) for every connection, replication
     * included, from loopback and the client network; nothing else gets in.
     */
    public String hbaConf() {
        StringBuilder hba = new StringBuilder("""
                # Written by the Strata compute agent. Computes never use trust.
                # TYPE  DATABASE     USER  ADDRESS        METHOD
                host    all          all   127.0.0.1/32   scram-sha-256
                host    replication  all   127.0.0.1/32   scram-sha-256
                """);
        if (clientCidr != null) {
            hba.append("host    all          all   ").append(clientCidr).append("   scram-sha-256\n");
            hba.append("host    replication  all   ").append(clientCidr).append("   scram-sha-256\n");
        }
        return hba.toString();
    }
}
