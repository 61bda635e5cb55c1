package dev.strata.proxy;

import dev.strata.proxy.metrics.ProxyMetrics;
import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.protocol.ProxyException;
import dev.strata.proxy.relay.Channels;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enforces {@link ClientLimits}. Each client channel carries a {@link Ticket} (a channel
 * attribute) through three phases: startup pending (from accept to its StartupMessage),
 * authenticating (to the compute's first ReadyForQuery), established. The handlers report the
 * phase changes with the static {@link #startupReceived} and {@link #established}; the channel's
 * close ends whatever phase it was in. Thread-safe: channels live on different event loops.
 */
public final class ClientAdmission {

    private static final Logger log = LoggerFactory.getLogger(ClientAdmission.class);
    private static final AttributeKey<Ticket> TICKET = AttributeKey.valueOf(ClientAdmission.class, "ticket");

    private enum Phase { STARTUP, AUTHENTICATING, ESTABLISHED }

    private final ClientLimits limits;
    /** Channels still owing their startup packet, oldest first (may hold closed ones briefly). */
    private final ConcurrentLinkedDeque<Ticket> pending = new ConcurrentLinkedDeque<>();
    private final AtomicInteger startupPending = new AtomicInteger();
    private final AtomicInteger authenticating = new AtomicInteger();

    private ProxyMetrics metrics = new ProxyMetrics();

    ClientAdmission(ClientLimits limits, ProxyMetrics metrics) {
        this(limits);
        this.metrics = metrics;
    }

    ClientAdmission(ClientLimits limits) {
        this.limits = limits;
    }

    /** One client's phase; moves forward only, under its own lock. */
    final class Ticket {
        private final Channel channel;
        private Phase phase = Phase.STARTUP;
        private boolean closed;

        Ticket(Channel channel) {
            this.channel = channel;
        }

        private synchronized boolean leaveStartup(Phase next) {
            if (closed || phase != Phase.STARTUP) {
                return false;
            }
            phase = next;
            startupPending.decrementAndGet();
            pending.remove(this);
            return true;
        }

        /** False if {@link ClientLimits#maxAuthenticating()} clients are authenticating already. */
        private synchronized boolean toAuthenticating() {
            if (closed || phase != Phase.STARTUP) {
                return true; // evicted meanwhile: its close is on the way
            }
            int n;
            do {
                n = authenticating.get();
                if (n >= limits.maxAuthenticating()) {
                    return false;
                }
            } while (!authenticating.compareAndSet(n, n + 1));
            phase = Phase.AUTHENTICATING;
            startupPending.decrementAndGet();
            pending.remove(this);
            return true;
        }

        private ClientLimits limits() {
            return limits;
        }

        private synchronized void toEstablished() {
            if (!closed && phase == Phase.AUTHENTICATING) {
                phase = Phase.ESTABLISHED;
                authenticating.decrementAndGet();
            }
        }

        private synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            switch (phase) {
                case STARTUP -> {
                    startupPending.decrementAndGet();
                    pending.remove(this);
                }
                case AUTHENTICATING -> authenticating.decrementAndGet();
                case ESTABLISHED -> {
                }
            }
        }
    }

    /**
     * Admits a just-accepted client into the startup phase; if that phase is full, the client
     * that has been in it longest is closed with 53300 to make room.
     */
    void admit(Channel ch) {
        Ticket t = new Ticket(ch);
        ch.attr(TICKET).set(t);
        startupPending.incrementAndGet();
        pending.addLast(t);
        ch.closeFuture().addListener(f -> t.close());
        while (startupPending.get() > limits.maxStartupPending()) {
            Ticket oldest = pending.peekFirst();
            if (oldest == null || oldest == t) {
                break;
            }
            if (oldest.leaveStartup(Phase.ESTABLISHED)) { // counted out now; the close follows
                log.info("client={} evicted: no startup packet while {} newer clients waited",
                        oldest.channel.remoteAddress(), limits.maxStartupPending());
                metrics.refused(ErrorKind.TOO_MANY_CONNECTIONS);
                Channels.closeWithError(oldest.channel, new ProxyException(ErrorKind.TOO_MANY_CONNECTIONS,
                        "too many connections waiting to send their startup packet (limit "
                                + limits.maxStartupPending() + "); this one waited longest").toErrorResponse());
            } else {
                pending.remove(oldest);
            }
        }
    }

    /**
     * The client sent its StartupMessage: it leaves the startup phase and starts authenticating,
     * unless {@link ClientLimits#maxAuthenticating()} are already: then a ProxyException 53300.
     */
    public static void startupReceived(Channel ch) {
        Ticket t = ch.attr(TICKET).get();
        if (t == null) {
            return; // a proxy built without admission (tests of the handlers alone)
        }
        if (!t.toAuthenticating()) {
            throw new ProxyException(ErrorKind.TOO_MANY_CONNECTIONS, "too many connections authenticating through"
                    + " the proxy (limit " + t.limits().maxAuthenticating() + "); retry shortly");
        }
    }

    /** The compute's first ReadyForQuery reached the client: its session is established. */
    public static void established(Channel client) {
        Ticket t = client.attr(TICKET).get();
        if (t != null) {
            t.toEstablished();
        }
    }

    /** Clients that have not sent their startup packet. */
    public int startupPending() {
        return startupPending.get();
    }

    /** Clients past their startup packet whose session is not established. */
    public int authenticating() {
        return authenticating.get();
    }
}
