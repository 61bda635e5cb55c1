package dev.strata.safekeeper.gossip;

import dev.strata.pgcore.id.NodeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UDP socket safekeepers tell each other their positions on (architecture §3: they
 * exchange (term, flush LSN) to learn the commit LSN). Positions are facts that only grow and
 * are re-sent every round while they change (and every second regardless), so a lost datagram
 * costs nothing and none needs an answer: one {@code sendto} per peer and round, one
 * {@code recvfrom} per datagram, against an HTTP request and response each before (decision
 * 0006).
 *
 * <p>A receiving thread decodes and authenticates each datagram ({@link PositionCodec}),
 * drops one older than the newest already taken from its sender (late or duplicated), and
 * hands the rest to the consumer. A datagram that fails any check is counted, logged at most
 * once per {@link #LOG_EVERY} and dropped; nothing a sender does stops the thread.
 */
public final class PositionGossip implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PositionGossip.class);
    static final Duration LOG_EVERY = Duration.ofSeconds(10);
    /**
     * A sequence this far below the newest seen from a sender is taken as the sender's restart
     * with a clock that stepped back, not as a late datagram; a datagram that old carries
     * positions long superseded, so either reading is harmless (the commit LSN never moves back).
     */
    static final long RESTART_WINDOW_MICROS = Duration.ofMinutes(10).toNanos() / 1000;

    private final DatagramChannel channel;
    private final PositionCodec sendCodec;
    private final PositionCodec receiveCodec;
    private final Consumer<PositionDatagram> consumer;
    /** The newest sequence taken per sender; the receiving thread's alone. */
    private final Map<NodeId, Long> newestSequence = new HashMap<>();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private volatile String lastRejection = "";
    private long lastRejectionLogged;
    private long lastSequence;
    private final Thread receiver;
    private volatile boolean closed;

    private PositionGossip(DatagramChannel channel, String secret, Consumer<PositionDatagram> consumer) {
        this.channel = channel;
        this.sendCodec = new PositionCodec(secret);
        this.receiveCodec = new PositionCodec(secret);
        this.consumer = consumer;
        this.receiver = Thread.ofPlatform().daemon().name("position-gossip-" + port()).start(this::receive);
    }

    /**
     * Binds {@code host:port} (UDP) and starts receiving.
     *
     * @throws UncheckedIOException naming the address when it cannot be bound
     */
    public static PositionGossip bind(String host, int port, String secret, Consumer<PositionDatagram> consumer) {
        InetSocketAddress at = new InetSocketAddress(host, port);
        DatagramChannel ch = null;
        try {
            ch = DatagramChannel.open(at.getAddress() instanceof java.net.Inet6Address
                    ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
            ch.bind(at);
            return new PositionGossip(ch, secret, consumer);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException("cannot bind the position gossip socket to UDP " + at + ": " + e.getMessage(), e);
        }
    }

    /** The bound UDP port. */
    public int port() {
        try {
            return ((InetSocketAddress) channel.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends {@code entries} (this node's positions) to every peer, in as many datagrams as
     * they need. A peer that cannot be reached now is skipped: the next round sends again.
     */
    public synchronized void send(NodeId self, List<PositionDatagram.Entry> entries, List<InetSocketAddress> peers) {
        if (entries.isEmpty() || peers.isEmpty()) {
            return;
        }
        for (List<PositionDatagram.Entry> part : PositionCodec.split(entries)) {
            byte[] datagram = sendCodec.encode(new PositionDatagram(self, nextSequence(), part));
            for (InetSocketAddress peer : peers) {
                try {
                    channel.send(ByteBuffer.wrap(datagram), peer);
                } catch (IOException | java.nio.channels.UnresolvedAddressException e) {
                    log.debug("cannot send positions to {}: {}", peer, e.toString());
                }
            }
        }
    }

    /** Datagrams taken, and dropped (malformed, forged, late); the last drop's reason. */
    public long received() {
        return received.get();
    }

    public long rejected() {
        return rejected.get();
    }

    public String lastRejection() {
        return lastRejection;
    }

    private long nextSequence() {
        long now = System.currentTimeMillis() * 1000;
        lastSequence = Math.max(now, lastSequence + 1);
        return lastSequence;
    }

    private void receive() {
        ByteBuffer buf = ByteBuffer.allocate(PositionCodec.MAX_DATAGRAM + 1); // one more: "too long" is seen
        while (!closed) {
            buf.clear();
            try {
                if (channel.receive(buf) == null) {
                    continue;
                }
            } catch (ClosedChannelException e) { // also AsynchronousCloseException: close() ends the loop
                return;
            } catch (IOException e) {
                if (!closed) {
                    log.warn("position gossip receive failed: {}", e.toString());
                }
                continue;
            }
            try {
                PositionDatagram d = receiveCodec.decode(buf.array(), buf.position());
                if (isStale(d)) {
                    continue;
                }
                received.incrementAndGet();
                consumer.accept(d);
            } catch (RuntimeException e) {
                reject(e.getMessage() == null ? e.toString() : e.getMessage());
            }
        }
    }

    private boolean isStale(PositionDatagram d) {
        long seq = d.sequence();
        Long newest = newestSequence.get(d.sender());
        if (newest == null || seq > newest || seq < newest - RESTART_WINDOW_MICROS) {
            newestSequence.put(d.sender(), seq);
            return false;
        }
        return true;
    }

    private void reject(String why) {
        rejected.incrementAndGet();
        lastRejection = why;
        long now = System.nanoTime();
        if (lastRejectionLogged == 0 || now - lastRejectionLogged > LOG_EVERY.toNanos()) {
            lastRejectionLogged = now;
            log.warn("dropped a position datagram: {} ({} dropped so far)", why, rejected.get());
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
        try {
            receiver.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(DatagramChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
