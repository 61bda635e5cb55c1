package dev.strata.safekeeper.node;

import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.control.SafekeeperState;
import dev.strata.safekeeper.election.CommitTracker;
import dev.strata.safekeeper.election.ElectedRequest;
import dev.strata.safekeeper.election.ElectedResponse;
import dev.strata.safekeeper.election.PeerPosition;
import dev.strata.safekeeper.election.VoteRequest;
import dev.strata.safekeeper.election.VoteResponse;
import dev.strata.safekeeper.gossip.PositionGossip;
import dev.strata.safekeeper.offload.RemoteWal;
import dev.strata.safekeeper.offload.UploaderChoice;
import dev.strata.safekeeper.offload.WalOffloader;
import dev.strata.remote.RetryingRemoteStorage;
import dev.strata.remote.S3RemoteStorage;
import dev.strata.safekeeper.receive.ComputeAddress;
import dev.strata.safekeeper.replication.WalSenderConfig;
import dev.strata.safekeeper.replication.WalSenderServer;
import dev.strata.safekeeper.timeline.Timeline;
import dev.strata.safekeeper.timeline.TimelineStatus;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One safekeeper: its timelines, its walsender port, and its conversations with peers
 * (position exchange for the commit LSN, WAL recovery from a donor). The management API
 * and tests drive it through these methods; it has no HTTP of its own.
 */
public final class SafekeeperNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SafekeeperNode.class);

    private final SafekeeperConfig config;
    private final NodeIdentity identity;
    private final Map<TimelineId, Timeline> timelines = new ConcurrentHashMap<>();
    private final Map<TimelineId, CommitTracker> commits = new ConcurrentHashMap<>();
    private final EventLoopGroup group;
    private final WalSenderServer walSender;
    private final PeerExchange peers;
    /** This node's management API URL, once its port is bound ({@link #startPositionGossip}). */
    private volatile URI ownUrl;

    /**
     * A peer silent for this long no longer counts as live when the timeline's uploader is chosen
     * ({@link UploaderChoice}); positions are resent every second, so three are missed first.
     */
    static final java.time.Duration UPLOADER_LIVE_WINDOW = java.time.Duration.ofSeconds(3);

    /** Object storage for offloaded WAL, or null when none is configured. */
    private final RemoteWal remoteWal;
    private final Map<TimelineId, WalOffloader> offloaders = new ConcurrentHashMap<>();
    /** When each peer's last datagram arrived ({@link System#nanoTime()}). */
    private final Map<NodeId, Long> lastHeard = new ConcurrentHashMap<>();
    /** When the peer list was last set: the node must hear its peers before it takes the upload. */
    private volatile long peersSetNanos = System.nanoTime();

    private final SafekeeperLimits limits;
    /** Permits for {@code GET /wal} answers being built (each holds up to walReadMaxBytes). */
    private final java.util.concurrent.Semaphore walReads;

    public SafekeeperNode(SafekeeperConfig config) {
        this(config, SafekeeperLimits.defaults());
    }

    public SafekeeperNode(SafekeeperConfig config, SafekeeperLimits limits) {
        this.config = config;
        this.limits = limits;
        this.walReads = new java.util.concurrent.Semaphore(limits.walReadConcurrency());
        this.identity = NodeIdentity.establish(config.dataDir(), config.nodeId());
        this.remoteWal = config.remoteStorage() == null ? null
                : new RemoteWal(new RetryingRemoteStorage(new S3RemoteStorage(config.remoteStorage()),
                        RetryingRemoteStorage.Policy.DEFAULTS));
        loadTimelines();
        this.group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        this.walSender = new WalSenderServer(group, config.listenHost(), config.walsenderPort(),
                WalSenderConfig.defaults(config.replicationUser(), config.replicationPassword()), this::timeline,
                WalSenderServer.IDLE_TIMEOUT, limits.walsenderMaxConnections());
        this.peers = new PeerExchange(this, config.peerExchangeInterval());
        peers.setPeers(config.peers());
        timelines.values().forEach(this::startOffload);
        log.info("safekeeper {} started: dataDir={} walsenderPort={} timelines={} offload={}", config.nodeId(),
                config.dataDir(), walSender.port(), timelines.size(),
                config.remoteStorage() == null ? "off" : config.remoteStorage());
    }

    public NodeId nodeId() {
        return config.nodeId();
    }

    public NodeIdentity identity() {
        return identity;
    }

    public SafekeeperLimits limits() {
        return limits;
    }

    /** Bounds the {@code GET /wal} answers built at once ({@link SafekeeperLimits#walReadConcurrency()}). */
    public java.util.concurrent.Semaphore walReads() {
        return walReads;
    }

    public int walsenderPort() {
        return walSender.port();
    }

    /** Walsender connections open now (admitted, not yet closed). */
    public int walsenderConnections() {
        return walSender.openConnections();
    }

    /** Checks the tokens of management API callers. */
    public TokenVerifier verifier() {
        return config.verifier();
    }

    public String replicationUser() {
        return config.replicationUser();
    }

    /** Sets the other members' management URLs (known only once they have bound their ports locally). */
    public void setPeers(Map<NodeId, URI> peerUrls) {
        if (peerUrls.containsKey(config.nodeId())) {
            throw new IllegalArgumentException("node " + config.nodeId() + " cannot be its own peer");
        }
        peers.setPeers(peerUrls);
        peersSetNanos = System.nanoTime();
    }

    int quorum() {
        return (peers.peerCount() + 1) / 2 + 1;
    }

    public Optional<Timeline> timeline(TimelineId id) {
        return Optional.ofNullable(timelines.get(id));
    }

    public Timeline requireTimeline(TimelineId id) {
        Timeline t = timelines.get(id);
        if (t == null) {
            throw new TimelineNotFoundException(id);
        }
        return t;
    }

    /** Every timeline held here. */
    public List<Timeline> timelineList() {
        return List.copyOf(timelines.values());
    }

    public List<TimelineStatus> statuses() {
        return timelines.values().stream().map(Timeline::status).toList();
    }

    public synchronized Timeline createTimeline(TimelineId id, long systemId, int segmentSize, Lsn start) {
        if (timelines.containsKey(id)) {
            throw new TimelineExistsException(id);
        }
        Timeline t = Timeline.create(timelineDir(id), id, systemId, segmentSize, start);
        timelines.put(id, t);
        startOffload(t);
        log.info("node={} created timeline={} start={}", config.nodeId(), id, start);
        return t;
    }

    public synchronized void deleteTimeline(TimelineId id) {
        Timeline t = timelines.remove(id);
        if (t == null) {
            throw new TimelineNotFoundException(id);
        }
        commits.remove(id);
        WalOffloader o = offloaders.remove(id);
        if (o != null) {
            o.close();
        }
        t.close();
        FileTrees.deleteRecursively(t.directory());
        int remote = 0;
        if (remoteWal != null) {
            try {
                remote = remoteWal.deleteTimeline(id);
            } catch (RuntimeException e) {
                // Local state is gone already; the objects are garbage a later delete can remove.
                log.warn("node={} deleted timeline={}; its offloaded WAL stays in object storage: {}",
                        config.nodeId(), id, e.getMessage());
            }
        }
        log.info("node={} deleted timeline={} ({} offloaded segment objects deleted)", config.nodeId(), id, remote);
    }

    public VoteResponse vote(VoteRequest request) {
        return requireTimeline(request.timelineId()).vote(request);
    }

    /**
     * Adopts an elected term; starts recovery from the donor in the background if WAL is missing.
     * Recovery fetches from {@code request.donorUrl()} with this node's own token: only a caller
     * of scope {@code safekeeperdata} may name that URL (see {@link #electedByCompute}).
     */
    public ElectedResponse elected(ElectedRequest request) {
        Timeline t = requireTimeline(request.timelineId());
        ElectedResponse r = t.acceptor().elected(request);
        if (r.needsRecovery()) {
            PeerRecovery.start(t, request, config.nodeId(), config.token());
        }
        return r;
    }

    /**
     * The elected message from a compute agent (a compute token): the donor must be this node or
     * one of its configured peers, and recovery uses the URL this node has for it, whatever URL the
     * message names. Otherwise a compute could send this node, with its {@code safekeeperdata}
     * token, to any address: the token would go to whoever listens there.
     */
    public ElectedResponse electedByCompute(ElectedRequest request) {
        URI donorUrl;
        if (request.donor().equals(config.nodeId())) {
            donorUrl = ownUrl;
            if (donorUrl == null) {
                throw new IllegalStateException("node " + config.nodeId() + " does not know its own URL yet");
            }
        } else {
            donorUrl = peers.url(request.donor()).orElseThrow(() -> new DonorRefusedException("donor " + request.donor()
                    + " is not a configured peer of " + config.nodeId() + "; only a safekeeperdata token may name another"));
        }
        if (!donorUrl.toString().equals(request.donorUrl())) {
            log.debug("node={} timeline={} elected by a compute names donor {} at {}; using the configured {}",
                    config.nodeId(), request.timelineId(), request.donor(), request.donorUrl(), donorUrl);
        }
        return elected(new ElectedRequest(request.timelineId(), request.term(), request.history(),
                request.epochStartLsn(), request.donor(), donorUrl.toString()));
    }

    public void streamFrom(TimelineId id, ComputeAddress compute) {
        Timeline t = requireTimeline(id);
        t.streamFrom(compute, config.nodeId(), () -> catchUpFromPeer(t, compute.term()));
    }

    /**
     * When the compute no longer has the WAL this node needs (it lost its disk and its timeline
     * was made again, or its slot was invalidated): copies committed WAL of {@code term} from
     * the peer of that term with the most WAL, up to the commit LSN known here, so that the
     * compute can stream the rest and this node counts for the quorum again without waiting for
     * the next election. Returns whether the flush LSN moved.
     */
    boolean catchUpFromPeer(Timeline t, Term term) {
        SafekeeperState s = t.acceptor().state();
        Lsn own = s.flushLsn();
        PeerPosition best = null;
        for (PeerPosition p : tracker(t.id()).positions().values()) {
            if (p.node().equals(config.nodeId()) || !p.promisedTerm().equals(term) || !p.lastLogTerm().equals(term)
                    || !p.flushLsn().isAfter(own)) {
                continue;
            }
            if (best == null || p.flushLsn().isAfter(best.flushLsn())) {
                best = p;
            }
        }
        if (best == null) {
            return false;
        }
        Lsn to = Lsn.min(s.commitLsn(), best.flushLsn());
        Optional<URI> url = peers.url(best.node());
        if (!to.isAfter(own) || url.isEmpty()) {
            return false;
        }
        return PeerRecovery.catchUp(t, term, to, best.node(), url.get(), config.nodeId(), config.token()).isAfter(own);
    }

    /** Refuses a sender that is this node or not one of its configured peers. */
    void checkPeer(NodeId sender) {
        if (sender.equals(config.nodeId())) {
            throw new IllegalArgumentException("a peer claims to be this node (" + sender + ")");
        }
        if (!peers.isPeer(sender)) {
            throw new IllegalArgumentException("node " + sender + " is not a configured peer of " + config.nodeId());
        }
    }

    /** A peer's position for {@code t} (the sender checked with {@link #checkPeer}): recompute the commit LSN. */
    void onPeerPosition(Timeline t, PeerPosition position) {
        tracker(t.id()).update(position);
        updateCommit(t);
        if (position.remoteConsistentLsn().isValid()) {
            t.advanceRemoteConsistentLsn(position.remoteConsistentLsn()); // the pageserver streams from one of us
        }
        if (position.offloadedLsn().isValid()) {
            t.advanceOffloadedLsn(position.offloadedLsn()); // the uploader moved it
        }
    }

    /** A datagram from {@code peer} arrived: it is live for the choice of uploaders. */
    void heardFrom(NodeId peer) {
        lastHeard.put(peer, System.nanoTime());
    }

    /**
     * Whether this node uploads the WAL of its timelines now: it is the lowest live member, and
     * its peers were set one live window ago (time to hear from them: a node just started must
     * not take over from a live uploader it has not heard yet).
     */
    public boolean isUploader() {
        long now = System.nanoTime();
        if (now - peersSetNanos < UPLOADER_LIVE_WINDOW.toNanos()) {
            return false;
        }
        Map<NodeId, Long> heard = new java.util.HashMap<>(lastHeard);
        heard.keySet().retainAll(peers.peerIds());
        return UploaderChoice.choose(config.nodeId(), heard, now, UPLOADER_LIVE_WINDOW.toNanos()).equals(config.nodeId());
    }

    /** The offloader of {@code id}, when this node has remote storage. */
    public Optional<WalOffloader> offloader(TimelineId id) {
        return Optional.ofNullable(offloaders.get(id));
    }

    /** The node's object storage for WAL, when configured. */
    public Optional<RemoteWal> remoteWal() {
        return Optional.ofNullable(remoteWal);
    }

    private void startOffload(Timeline t) {
        if (remoteWal != null) {
            offloaders.put(t.id(), new WalOffloader(t, remoteWal, this::isUploader, config.nodeId().value()));
        }
    }

    /**
     * Removes this node's WAL of {@code t} that nobody needs any more ({@link WalRetention}):
     * called about once a second by the peer exchange.
     */
    void removeUnneededWal(Timeline t) {
        TimelineStatus s = t.status();
        WalRetention.horizon(s.commitLsn(), s.remoteConsistentLsn(), s.offloadedLsn(), tracker(t.id()).positions(),
                peers.peerIds()).ifPresent(t::removeWalBelow);
    }

    /**
     * Starts exchanging positions with peers over UDP on {@code port} of the listen address:
     * the management API's port number, so that a peer's URL names both. Called once that
     * port is bound.
     */
    public void startPositionGossip(int port) {
        ownUrl = URI.create("http://" + config.listenHost() + ":" + port);
        peers.start(PositionGossip.bind(config.listenHost(), port, config.replicationPassword(), peers::onDatagram));
    }

    /** The position gossip socket's counters, for status and tests; empty before it started. */
    public Optional<PositionGossip> positionGossip() {
        return Optional.ofNullable(peers.gossip());
    }

    /** This node's own position for {@code t}, as peers learn it. */
    PeerPosition ownPosition(Timeline t) {
        TimelineStatus s = t.status();
        return new PeerPosition(config.nodeId(), s.promisedTerm(), s.lastLogTerm(), s.flushLsn(), s.commitLsn(),
                s.remoteConsistentLsn(), s.offloadedLsn());
    }

    void updateCommit(Timeline t) {
        CommitTracker tracker = tracker(t.id());
        PeerPosition own = ownPosition(t);
        tracker.update(own);
        tracker.commitLsn(own.promisedTerm(), quorum()).ifPresent(t::advanceCommit);
    }

    Map<TimelineId, Timeline> timelines() {
        return timelines;
    }

    private CommitTracker tracker(TimelineId id) {
        return commits.computeIfAbsent(id, k -> new CommitTracker());
    }

    private Path timelineDir(TimelineId id) {
        return config.dataDir().resolve("timelines").resolve(id.toString());
    }

    private void loadTimelines() {
        Path root = config.dataDir().resolve("timelines");
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.toList()) {
                TimelineId id = TimelineId.parse(dir.getFileName().toString());
                timelines.put(id, Timeline.open(dir));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not list timelines in " + root, e);
        }
    }

    @Override
    public void close() {
        offloaders.values().forEach(WalOffloader::close);
        peers.close();
        walSender.close();
        timelines.values().forEach(Timeline::close);
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        if (remoteWal != null) {
            remoteWal.close();
        }
        log.info("safekeeper {} stopped", config.nodeId());
    }
}
