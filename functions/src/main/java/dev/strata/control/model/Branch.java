package dev.strata.control.model;

import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.util.Objects;
import java.util.Optional;

/**
 * A branch: a user-facing name pointing at a timeline. A child branch records its parent and
 * the LSN it was branched at; a root branch (the project's first) has neither. Names are unique
 * within a project (the store keeps a name claim, docs/control-plane.md).
 */
public record Branch(ProjectId project, BranchId id, String name, TimelineId timeline, Optional<BranchId> parent,
                     Optional<Lsn> branchLsn, BranchState state, long version) implements Versioned {

    public Branch {
        Objects.requireNonNull(project, "project is null");
        Objects.requireNonNull(id, "id is null");
        Names.check("branch name", name, Names.MAX_NAME_LENGTH);
        Objects.requireNonNull(timeline, "timeline is null");
        Objects.requireNonNull(parent, "parent is null");
        Objects.requireNonNull(branchLsn, "branchLsn is null");
        if (parent.isPresent() != branchLsn.isPresent()) {
            throw new IllegalArgumentException("branch " + id + ": a parent and a branch LSN go together, got parent "
                    + parent + " and LSN " + branchLsn);
        }
        if (parent.isPresent() && parent.get().equals(id)) {
            throw new IllegalArgumentException("branch " + id + " cannot be its own parent");
        }
        Objects.requireNonNull(state, "state is null");
        Names.checkVersion(version);
    }

    /** A root branch to create. */
    public static Branch root(ProjectId project, BranchId id, String name, TimelineId timeline) {
        return new Branch(project, id, name, timeline, Optional.empty(), Optional.empty(), BranchState.CREATING, 0);
    }

    /** A child of {@code parent} at {@code lsn}, to create. */
    public static Branch child(ProjectId project, BranchId id, String name, TimelineId timeline, BranchId parent, Lsn lsn) {
        return new Branch(project, id, name, timeline, Optional.of(parent), Optional.of(lsn), BranchState.CREATING, 0);
    }

    public Branch withState(BranchState s) {
        return new Branch(project, id, name, timeline, parent, branchLsn, s, version);
    }

    /** Repoints the branch (a restore keeps the old timeline under a backup branch). */
    public Branch withTimeline(TimelineId t) {
        return new Branch(project, id, name, t, parent, branchLsn, state, version);
    }

    /**
     * The restored branch of a restore: on {@code t}, a child of {@code newParent} (the backup branch
     * that keeps the replaced timeline, or the branch restored from) at {@code lsn}.
     */
    public Branch repointed(TimelineId t, BranchId newParent, Lsn lsn) {
        return new Branch(project, id, name, t, Optional.of(newParent), Optional.of(lsn), state, version);
    }

    public Branch withVersion(long v) {
        return new Branch(project, id, name, timeline, parent, branchLsn, state, v);
    }
}
