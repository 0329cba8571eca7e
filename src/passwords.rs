//! Password hashing with argon2id at no less than the OWASP baseline (SECURITY.md AN-1). Callers
//! run these on the blocking pool: one hash costs tens of milliseconds of CPU.

use std::sync::LazyLock;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};

pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).expect("argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string for a new password.
pub fn hash(password: &SecretString) -> anyhow::Result<String> {
    let hash = hasher()
        .hash_password(password.expose_secret().as_bytes())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?;
    Ok(hash.to_string())
}

/// A hash of a random password, verified against when the account does not exist, so an unknown
/// email costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random = uuid::Uuid::new_v4().to_string();
    hash(&SecretString::from(random)).expect("hashing a random password works")
});

/// True when `password` matches `stored`; with no stored hash, does the same work and says false.
pub fn verify(password: &SecretString, stored: Option<&str>) -> bool {
    let target = stored.unwrap_or(DUMMY_HASH.as_str());
    let matches = match PasswordHash::new(target) {
        Ok(parsed) => hasher().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    };
    matches && stored.is_some()
}

/// Argon2 working memory (19 MiB at policy strength), allocated once per hashing thread and
/// reused for every verification on it, so sign-ins cost no allocation at all.
pub type Workspace = Vec<argon2::Block>;

/// As `verify`, computing in `memory` instead of a fresh allocation. Argon2 writes every block
/// before it reads it, so what an earlier run left there does not matter.
pub fn verify_in(memory: &mut Workspace, password: &SecretString, stored: Option<&str>) -> bool {
    let target = stored.unwrap_or(DUMMY_HASH.as_str());
    let mut computed = || -> Option<bool> {
        let parsed = PasswordHash::new(target).ok()?;
        let params = Params::try_from(&parsed).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
        let version = parsed.version.map(Version::try_from).transpose().ok()?.unwrap_or_default();
        let (salt, expected) = (parsed.salt.as_ref()?, parsed.hash.as_ref()?);
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::new());
        }
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(
                password.expose_secret().as_bytes(),
                salt.as_ref(),
                &mut out,
                &mut memory[..blocks],
            )
            .ok()?;
        // `Output`'s equality is constant-time.
        Some(argon2::password_hash::phc::Output::new(&out).ok()? == *expected)
    };
    computed().unwrap_or(false) && stored.is_some()
}

/// True when a stored hash was made with weaker parameters than today's policy.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return true };
    if parsed.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(&parsed) {
        Ok(p) => p.m_cost() < M_COST_KIB || p.t_cost() < T_COST || p.p_cost() != P_COST,
        Err(_) => true,
    }
}

/// Warms the dummy hash so the first unknown-email sign-in is not slower than the rest.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Bounds the password hashes in flight (SECURITY.md AN-1, and the sign-in flood of issue 11):
/// each argon2 run holds 19 MiB, so an unbounded burst of sign-ins would take memory without
/// limit. Hashes run on `in_flight` threads of their own, never on the shared blocking pool: the
/// allocator keeps a freed 19 MiB block in the arena of the thread that used it, so hashing on
/// a hundred pool threads kept a gigabyte even when only two hashed at once. At most `in_flight`
/// hashes run; up to `MAX_WAITING` more wait up to `MAX_WAIT`; anything beyond is answered 503
/// with `Retry-After` at once.
pub struct HashSlots {
    permits: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// Requests that may queue for a hash slot; past this a sign-in is refused at once.
pub const MAX_WAITING: usize = 64;
/// How long a queued request waits for a hash slot.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl HashSlots {
    /// Starts `in_flight` hashing threads; they end when the value is dropped.
    pub fn new(in_flight: usize) -> Self {
        let in_flight = in_flight.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..in_flight {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    let mut memory = Workspace::new();
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job drops its answer channel (the caller gets a 500);
                            // the thread carries on.
                            Ok(job) => {
                                let run = std::panic::AssertUnwindSafe(|| job(&mut memory));
                                drop(std::panic::catch_unwind(run));
                            }
                            Err(_) => return,
                        }
                    }
                })
                .expect("a hashing thread starts");
        }
        Self { permits: tokio::sync::Semaphore::new(in_flight), waiting: Default::default(), jobs }
    }

    /// Runs `work` (hashing or verifying) on a hashing thread, with its reused working memory,
    /// once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        use crate::error::ApiError;
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Unavailable);
        }
        let permit = tokio::time::timeout(MAX_WAIT, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = match permit {
            Ok(Ok(p)) => p,
            _ => return Err(ApiError::Unavailable),
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |memory: &mut Workspace| drop(answer.send(work(memory)))))
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("the password hashing threads have stopped")))?;
        answered.await.map_err(|_| ApiError::Internal(anyhow::anyhow!("password hashing task failed")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_carry_the_policy_parameters() {
        let pw = SecretString::from("correct horse battery staple".to_owned());
        let stored = hash(&pw).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify(&pw, Some(&stored)));
        assert!(!verify(&SecretString::from("wrong horse battery".to_owned()), Some(&stored)));
        assert!(!verify(&pw, None));
        assert!(!needs_rehash(&stored));
    }

    #[test]
    fn verifying_in_reused_memory_agrees_with_the_library() {
        let pw = SecretString::from("correct horse battery staple".to_owned());
        let wrong = SecretString::from("wrong horse battery staple".to_owned());
        let stored = hash(&pw).unwrap();
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap())
            .hash_password(b"correct horse battery staple")
            .unwrap()
            .to_string();
        let mut memory = Workspace::new();
        // Garbage left by earlier runs, of other passwords and parameters, changes nothing.
        for _ in 0..2 {
            assert!(verify_in(&mut memory, &pw, Some(&stored)));
            assert!(!verify_in(&mut memory, &wrong, Some(&stored)));
            assert!(verify_in(&mut memory, &pw, Some(&weak)));
            assert!(!verify_in(&mut memory, &pw, None));
            assert!(!verify_in(&mut memory, &pw, Some("not a hash")));
        }
    }

    #[test]
    fn weaker_hashes_need_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap())
            .hash_password(b"correct horse battery staple")
            .unwrap()
            .to_string();
        assert!(needs_rehash(&weak));
        assert!(needs_rehash("not a phc string"));
    }
}
