package dev.strata.cli.local;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A branch of the local project: a name that points at a timeline. A child branch records the
 * branch it was made from and the LSN there; the project's first branch ({@code main}) has
 * neither. Every branch has an endpoint (the name clients connect to); its compute starts on
 * the first connection.
 *
 * @param created when the branch was made (a backup branch: when its timeline was replaced)
 */
public record LocalBranch(String name, TimelineId timeline, Optional<String> parent, Optional<Lsn> branchLsn,
                          EndpointId endpoint, Instant created) {

    /** Letters, digits, {@code _ - :}; 1 to 63; starting with a letter or digit. No dots (they separate state keys). */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_:-]{0,62}");

    public LocalBranch {
        checkName(name);
        Objects.requireNonNull(timeline, "timeline");
        Objects.requireNonNull(parent, "parent");
        Objects.requireNonNull(branchLsn, "branchLsn");
        if (parent.isPresent() != branchLsn.isPresent()) {
            throw new IllegalArgumentException("branch " + name + ": a parent and a branch LSN go together");
        }
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(created, "created");
    }

    /** Refuses a name a branch cannot have, saying what the rule is. */
    public static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' cannot name a branch: use 1 to 63 letters, digits, '_', "
                    + "'-' or ':', starting with a letter or digit");
        }
        return name;
    }

    /**
     * The endpoint id a branch's name gives (endpoint ids are DNS labels: lower case, digits,
     * '-'): {@code main} stays {@code main}, {@code main_old_2026-12-06T04:31:07Z} becomes
     * {@code main-old-2026-12-06t04-31-07z}.
     */
    public static EndpointId endpointFor(String name) {
        String label = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        label = label.replaceAll("-+$", "");
        return EndpointId.of(label.isEmpty() ? "branch" : label);
    }

    public boolean isRoot() {
        return parent.isEmpty();
    }

    public LocalBranch withTimeline(TimelineId t, Optional<String> newParent, Optional<Lsn> lsn) {
        return new LocalBranch(name, t, newParent, lsn, endpoint, created);
    }

    public LocalBranch withParent(Optional<String> newParent) {
        return new LocalBranch(name, timeline, newParent, branchLsn, endpoint, created);
    }
}
