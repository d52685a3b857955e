/*
 * A model of a push session's write role (transports/connwrite.go), for the
 * Spin model checker: check.sh runs it.
 *
 * What is modelled: senders queueing frames and kicking (Send, TrySend,
 * Close, heartbeats all end in kick); the write role as a claim (writing,
 * a compare-and-swap); the writer goroutine, started when none exists and
 * handed the role through a one-slot channel when one is parked; the
 * reaper retiring parked writers at any moment; the open frame written
 * inline by the upgrading request (flushInline).
 *
 * What is checked:
 *   - one writer at a time (nobody drains while another does);
 *   - a hand-over never blocks (the one-slot channel is empty when the
 *     role is handed over);
 *   - at most one writer goroutine exists (holding the role or parked);
 *   - a writer that is told to retire either retires or is handed the
 *     role: whoever claims the role while a writer exists hands it over;
 *   - when nothing can move any more, every frame queued has been
 *     written: no frame is left with nobody to write it.
 */

#ifndef FRAMES
#define FRAMES 3 /* frames the senders queue */
#endif
#ifndef REAPS
#define REAPS 3 /* reaper ticks */
#endif

byte pending = 1;   /* frames queued, not written: the open frame first */
byte written = 0;
bool writing = false;  /* the write role */
bool alive = false;    /* a writer goroutine exists; guarded by the role */
byte goroutines = 0; /* writer goroutines holding the role or parked */
byte draining = 0;
chan wake = [1] of { bit };
chan reap = [1] of { bit }; /* a tick: the parked writer, if any, retires */

/* drain writes until nothing is pending */
inline drain() {
	atomic { draining++; assert(draining == 1) }
	do
	:: atomic { pending > 0 -> pending--; written++ }
	:: atomic { pending == 0 -> break }
	od;
	draining--
}

/* wanted: something to write */
#define wanted (pending > 0)

inline cas(ok) {
	atomic {
		if
		:: !writing -> writing = true; ok = true
		:: else -> ok = false
		fi
	}
}

inline kick() {
	cas(ok);
	if
	:: ok ->
		if
		:: alive -> atomic { assert(len(wake) == 0); wake ! 1 }
		:: else ->
			alive = true;
			atomic { goroutines++; assert(goroutines == 1); run Writer() }
		fi
	:: else -> skip
	fi
}

proctype Writer() {
	bool ok;
	bit b;
loop:
	drain();
	writing = false;
	if
	:: wanted -> cas(ok); if :: ok -> goto loop :: else -> skip fi
	:: else -> skip
	fi;
end_parked:
	if
	:: wake ? b -> goto loop
	:: reap ? b -> skip
	fi;
	/* retire, unless a kicker has just claimed the role for us */
	cas(ok);
	if
	:: !ok -> wake ? b; goto loop
	:: else -> skip
	fi;
	if
	:: wanted -> goto loop /* frames came meanwhile: write them */
	:: else -> skip
	fi;
	atomic { alive = false; goroutines-- } /* from here it is no longer the writer */
	writing = false;
	if
	:: wanted -> kick() /* frames queued after the release: the role's next holder writes */
	:: else -> skip
	fi
	/* the goroutine ends (it may become the background reader) */
}


proctype Sender() {
	byte n = 0;
	bool ok;
	do
	:: n < FRAMES -> n++; pending++; kick()
	:: n == FRAMES -> break
	od
}

/* the upgrading request writes the open frame inline */
proctype Upgrade() {
	bool ok;
	cas(ok);
	if
	:: ok && alive -> atomic { assert(len(wake) == 0); wake ! 1 } /* a writer exists: it writes */
	:: ok && !alive ->
		drain();
		writing = false;
		if
		:: wanted -> kick()
		:: else -> skip
		fi
	:: else -> skip
	fi
}

proctype Reaper() {
	byte n = 0;
	do
	:: n < REAPS -> n++; atomic { if :: len(reap) == 0 -> reap ! 1 :: else -> skip fi }
	:: n == REAPS -> break
	od
}

init {
	atomic {
		run Upgrade();
		run Sender();
		run Reaper()
	}
}

/* When nothing can move any more, every frame was written. */
active proctype Check() {
	timeout -> assert(pending == 0 && written == FRAMES + 1)
}
