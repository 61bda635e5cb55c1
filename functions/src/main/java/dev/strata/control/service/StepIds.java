package dev.strata.control.service;

import dev.strata.control.model.OperationId;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The ids a workflow step creates, derived from its operation's id instead of drawn at random, so
 * that a retried step (or its compensation, which gets only the operation id) names the same items:
 * SHA-256 of {@code <what>:<operation id>}, the first 80 bits as 16 characters of {@code a-z 2-7}
 * for names, the first 128 bits for a timeline. Operation ids are random (80 bits), so these are
 * too, and no step keeps randomness of its own (nothing to capture in a SnapStart snapshot).
 */
public final class StepIds {

    private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

    private StepIds() {
    }

    /** The main branch a create-project operation creates. */
    public static BranchId mainBranch(OperationId op) {
        return BranchId.of("br-" + name("branch", op));
    }

    /** The timeline of that branch. */
    public static TimelineId mainTimeline(OperationId op) {
        return TimelineId.of(Arrays.copyOf(digest("timeline", op), TimelineId.BYTES));
    }

    /** The default endpoint a create-project operation creates. */
    public static EndpointId defaultEndpoint(OperationId op) {
        return EndpointId.of("ep-" + name("endpoint", op));
    }

    /** The branch a create-branch operation creates. */
    public static BranchId newBranch(OperationId op) {
        return BranchId.of("br-" + name("new-branch", op));
    }

    /**
     * The timeline a create-branch operation creates for its branch, or a restore for the restored
     * branch: a child of the parent (source) timeline at the branch point.
     */
    public static TimelineId childTimeline(OperationId op) {
        return TimelineId.of(Arrays.copyOf(digest("child-timeline", op), TimelineId.BYTES));
    }

    /** The endpoint a create-branch operation creates when asked to. */
    public static EndpointId branchEndpoint(OperationId op) {
        return EndpointId.of("ep-" + name("branch-endpoint", op));
    }

    /** The backup branch a restore creates to keep the replaced timeline. */
    public static BranchId backupBranch(OperationId op) {
        return BranchId.of("br-" + name("backup-branch", op));
    }

    /** The agent a wake launches when the warm pool is empty. */
    public static NodeId launchedAgent(OperationId op) {
        return NodeId.of("agent-" + name("agent", op));
    }

    /**
     * The {@code n}th agent a wake launches (from 1; the first is {@link #launchedAgent(OperationId)}):
     * the next one is launched only when another wake claimed the previous one from the pool first.
     */
    public static NodeId launchedAgent(OperationId op, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("launched agents count from 1, got " + n);
        }
        return n == 1 ? launchedAgent(op) : NodeId.of("agent-" + name("agent" + n, op));
    }

    private static String name(String what, OperationId op) {
        byte[] d = digest(what, op);
        // 80 bits do not fit a long: the top 64, then the next 16
        StringBuilder sb = new StringBuilder(16);
        long hi = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (d[i] & 0xff);
        }
        int lo = ((d[8] & 0xff) << 8) | (d[9] & 0xff);
        for (int i = 0; i < 12; i++) {
            sb.append(BASE32[(int) ((hi >>> (59 - 5 * i)) & 31)]);
        }
        long rest = ((hi & 0xf) << 16) | lo; // the last 4 bits of hi and the 16 of lo: 20 bits
        for (int i = 0; i < 4; i++) {
            sb.append(BASE32[(int) ((rest >>> (15 - 5 * i)) & 31)]);
        }
        return sb.toString();
    }

    private static byte[] digest(String what, OperationId op) {
        try {
            return MessageDigest.getInstance("SHA-256").digest((what + ":" + op).getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
