//! The simulator's book of payments, with InstaMed's rule that a void must come before the funds
//! transfer.
//!
//! One mutex guards the book and its journal together, so the order of the journal's lines is the
//! order in which changes were made. Each change is written to the journal first and applied
//! second: a change the journal refused never happened.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use instamed_soap::{Outlet, TransactionId};

use super::error::{LedgerError, SimulatorError};
use super::ids::IdKey;
use super::journal::{Entry, Journal};
use instamed_soap::rest::Amount;

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaymentStatus {
    /// Captured (`C`): approved and not voided.
    Captured,
    /// Voided (`V`).
    Voided,
}

impl PaymentStatus {
    /// InstaMed's one-letter transaction status code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Captured => "C",
            Self::Voided => "V",
        }
    }
}

/// What a void did to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VoidOutcome {
    /// The payment was captured and is now voided.
    Voided,
    /// The payment had been voided before; nothing changed.
    AlreadyVoided,
    /// The payment's funds transfer has begun (explicitly, or because it is older than the void
    /// cutoff); nothing changed.
    TooLate,
    /// No such payment (at that outlet); nothing changed.
    Unknown,
    /// Money was refunded on the payment: a void would undo a refund already given; nothing
    /// changed.
    HasRefunds,
}

/// One payment in the ledger: a sale, a seeded payment or a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Payment {
    /// Its transaction ID, upper case.
    pub id: TransactionId,
    /// Where it was taken.
    pub outlet: Outlet,
    /// How much.
    pub amount: Amount,
    /// Captured or voided.
    pub status: PaymentStatus,
    /// Whether its funds transfer has begun (it can no longer be voided).
    pub transfer_started: bool,
    /// When it was created.
    pub created_at: SystemTime,
    /// For a refund, the payment it gives money back on.
    pub refund_of: Option<TransactionId>,
    /// How much has been refunded on it so far.
    pub refunded: Amount,
}

/// The outlet named in a request, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutletRef<'a> {
    pub merchant_id: &'a str,
    pub store_id: &'a str,
    pub terminal_id: &'a str,
}

impl OutletRef<'_> {
    fn is(&self, outlet: &Outlet) -> bool {
        outlet.merchant_id() == self.merchant_id
            && outlet.store_id() == self.store_id
            && outlet.terminal_id() == self.terminal_id
    }
}

/// What a refund did.
// `IdKey` is a 200-byte stack buffer on purpose (no allocation per request); copying it once
// per refund is cheaper than boxing it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum RefundOutcome {
    /// A new refund transaction was created with this ID.
    Refunded(IdKey),
    /// No such payment at that outlet.
    Unknown,
    /// The payment was voided: there is nothing to refund.
    Voided,
    /// The payment is itself a refund.
    IsRefund,
    /// More than what is left to refund on the payment.
    TooMuch,
    /// The payment is older than the refund window.
    TooOld,
}

/// The simulator's payments. Cheap to call from many tasks: one short lock per call.
#[derive(Debug)]
pub struct Ledger {
    book: Mutex<Book>,
    void_cutoff: Option<Duration>,
    refund_window: Option<Duration>,
}

#[derive(Debug)]
struct Book {
    payments: Vec<Payment>,
    /// Upper-case ID → index in `payments`.
    index: HashMap<Box<str>, usize>,
    journal: Option<Journal>,
    /// Makes new transaction IDs; unrelated to the fault plan's seeded generator.
    ids: fastrand::Rng,
}

impl Ledger {
    /// A ledger, in memory or replayed from (and then kept in) the journal at `journal`, with
    /// no refund window.
    #[cfg(test)]
    pub(crate) fn open(
        journal: Option<&Path>,
        void_cutoff: Option<Duration>,
    ) -> Result<Self, SimulatorError> {
        Self::open_with(journal, void_cutoff, None)
    }

    /// [`open`](Self::open), refusing refunds of payments older than `refund_window`.
    pub(crate) fn open_with(
        journal: Option<&Path>,
        void_cutoff: Option<Duration>,
        refund_window: Option<Duration>,
    ) -> Result<Self, SimulatorError> {
        let mut book = Book {
            payments: Vec::new(),
            index: HashMap::new(),
            journal: None,
            ids: fastrand::Rng::new(),
        };
        if let Some(path) = journal {
            let (opened, _cuts) = Journal::open(path, |entry| book.replay(entry))?;
            book.journal = Some(opened);
        }
        Ok(Self {
            book: Mutex::new(book),
            void_cutoff,
            refund_window,
        })
    }

    /// A ledger kept in the journal at `path`, written through the storage `wrap` makes of it.
    #[cfg(test)]
    pub(crate) fn open_on(
        path: &Path,
        wrap: impl FnOnce(std::fs::File) -> Box<dyn super::journal::Storage>,
    ) -> Result<Self, SimulatorError> {
        let mut book = Book {
            payments: Vec::new(),
            index: HashMap::new(),
            journal: None,
            ids: fastrand::Rng::new(),
        };
        let (opened, _cuts) = Journal::open_on(path, wrap, |entry| book.replay(entry))?;
        book.journal = Some(opened);
        Ok(Self {
            book: Mutex::new(book),
            void_cutoff: None,
            refund_window: None,
        })
    }

    /// Creates a captured payment of `amount` (`12.34`) at `outlet`, with a new 32-digit
    /// upper-case hex ID.
    pub fn create_payment(
        &self,
        outlet: &Outlet,
        amount: &str,
    ) -> Result<TransactionId, LedgerError> {
        let amount = positive(amount)?;
        let id = self
            .lock()
            .create(None, outlet, amount, None, SystemTime::now())?;
        public_id(&id)
    }

    /// Creates a captured payment of `amount` at `outlet` as if it had been taken at
    /// `created_at`: an old payment, to try the void cutoff and the refund window on.
    pub fn create_payment_at(
        &self,
        outlet: &Outlet,
        amount: &str,
        created_at: SystemTime,
    ) -> Result<TransactionId, LedgerError> {
        let amount = positive(amount)?;
        let id = self.lock().create(None, outlet, amount, None, created_at)?;
        public_id(&id)
    }

    /// Adds a captured payment with a given ID (for seeding). The ID is stored upper case.
    pub fn insert(
        &self,
        id: &TransactionId,
        outlet: &Outlet,
        amount: &str,
    ) -> Result<TransactionId, LedgerError> {
        let key = key_of(id)?;
        let amount = positive(amount)?;
        let id = self
            .lock()
            .create(Some(key), outlet, amount, None, SystemTime::now())?;
        public_id(&id)
    }

    /// The status of payment `id` (any case), if it exists.
    pub fn status(&self, id: &TransactionId) -> Option<PaymentStatus> {
        let key = key_of(id).ok()?;
        let book = self.lock();
        book.find(&key).map(|i| book.payments[i].status)
    }

    /// Payment `id` (any case), if it exists.
    pub fn payment(&self, id: &TransactionId) -> Option<Payment> {
        let key = key_of(id).ok()?;
        let book = self.lock();
        book.find(&key).map(|i| book.payments[i].clone())
    }

    /// Every payment, in the order they were created.
    pub fn payments(&self) -> Vec<Payment> {
        self.lock().payments.clone()
    }

    /// How many payments there are.
    pub fn len(&self) -> usize {
        self.lock().payments.len()
    }

    /// Whether there is no payment at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts payment `id`'s funds transfer: from now on it can no longer be voided.
    pub fn start_transfer(&self, id: &TransactionId) -> Result<(), LedgerError> {
        let unknown = || LedgerError::Unknown(id.to_string());
        let key = key_of(id)?;
        let mut book = self.lock();
        let index = book.find(&key).ok_or_else(unknown)?;
        if book.payments[index].transfer_started {
            return Ok(());
        }
        book.write(&Entry::TransferStarted {
            id: key.as_str().into(),
            at_ms: unix_ms(SystemTime::now()),
        })?;
        book.payments[index].transfer_started = true;
        Ok(())
    }

    /// Voids payment `id` (any case, any outlet) as of `now`, by the same rule the service
    /// applies.
    pub fn void(&self, id: &TransactionId, now: SystemTime) -> Result<VoidOutcome, LedgerError> {
        self.void_at(None, &key_of(id)?, now)
    }

    /// Voids payment `key` if it was taken at `outlet` (any outlet when `None`): a captured
    /// payment whose transfer has not begun and that is younger than the cutoff becomes voided.
    pub(crate) fn void_at(
        &self,
        outlet: Option<OutletRef<'_>>,
        key: &IdKey,
        now: SystemTime,
    ) -> Result<VoidOutcome, LedgerError> {
        let mut book = self.lock();
        let Some(index) = book.find_at(outlet, key) else {
            return Ok(VoidOutcome::Unknown);
        };
        let payment = &book.payments[index];
        if payment.status == PaymentStatus::Voided {
            return Ok(VoidOutcome::AlreadyVoided);
        }
        if self.too_late(payment, now) {
            return Ok(VoidOutcome::TooLate);
        }
        if payment.refunded.cents() > 0 {
            return Ok(VoidOutcome::HasRefunds);
        }
        book.write(&Entry::Voided {
            id: key.as_str().into(),
            at_ms: unix_ms(now),
        })?;
        book.mark_voided(index);
        Ok(VoidOutcome::Voided)
    }

    /// Creates a captured sale of `amount` at `outlet`.
    pub(crate) fn sale(
        &self,
        outlet: &Outlet,
        amount: Amount,
        now: SystemTime,
    ) -> Result<IdKey, LedgerError> {
        self.lock().create(None, outlet, amount, None, now)
    }

    /// Refunds `amount` of payment `key`, taken at `outlet`, as a new captured transaction.
    pub(crate) fn refund(
        &self,
        outlet: OutletRef<'_>,
        key: &IdKey,
        amount: Amount,
        now: SystemTime,
    ) -> Result<RefundOutcome, LedgerError> {
        let mut book = self.lock();
        let Some(index) = book.find_at(Some(outlet), key) else {
            return Ok(RefundOutcome::Unknown);
        };
        let payment = &book.payments[index];
        if payment.status == PaymentStatus::Voided {
            return Ok(RefundOutcome::Voided);
        }
        if payment.refund_of.is_some() {
            return Ok(RefundOutcome::IsRefund);
        }
        if self.refund_window.is_some_and(|window| {
            now.duration_since(payment.created_at).unwrap_or_default() > window
        }) {
            return Ok(RefundOutcome::TooOld);
        }
        let left = payment
            .amount
            .checked_sub(payment.refunded)
            .unwrap_or_default();
        if amount > left {
            return Ok(RefundOutcome::TooMuch);
        }
        let outlet = payment.outlet.clone();
        let id = book.create(None, &outlet, amount, Some(*key), now)?;
        Ok(RefundOutcome::Refunded(id))
    }

    /// Asks the operating system to put the journal on disk (at shutdown).
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        match &self.lock().journal {
            Some(journal) => journal.sync(),
            None => Ok(()),
        }
    }

    fn too_late(&self, payment: &Payment, now: SystemTime) -> bool {
        payment.transfer_started
            || self.void_cutoff.is_some_and(|cutoff| {
                now.duration_since(payment.created_at).unwrap_or_default() >= cutoff
            })
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        // The book is consistent after every statement that can panic, so a poisoned lock
        // (a panic elsewhere while holding it) leaves nothing half-done.
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Book {
    fn find(&self, key: &IdKey) -> Option<usize> {
        self.index.get(key.as_str()).copied()
    }

    /// The payment `key`, when it was taken at `outlet`: one taken elsewhere is not found, as a
    /// merchant must not learn of another outlet's payments.
    fn find_at(&self, outlet: Option<OutletRef<'_>>, key: &IdKey) -> Option<usize> {
        self.find(key)
            .filter(|&i| outlet.is_none_or(|outlet| outlet.is(&self.payments[i].outlet)))
    }

    /// Marks payment `index` voided. A voided refund gives its amount back: the payment it
    /// refunded may be refunded by as much again.
    fn mark_voided(&mut self, index: usize) {
        let payment = &mut self.payments[index];
        payment.status = PaymentStatus::Voided;
        let amount = payment.amount;
        let original = payment
            .refund_of
            .as_ref()
            .and_then(|r| IdKey::fold(r.as_str()))
            .and_then(|r| self.find(&r));
        if let Some(original) = original {
            let original = &mut self.payments[original];
            original.refunded = original.refunded.checked_sub(amount).unwrap_or_default();
        }
    }

    fn write(&mut self, entry: &Entry<'_>) -> Result<(), LedgerError> {
        match &mut self.journal {
            Some(journal) => journal.append(entry).map_err(LedgerError::Journal),
            None => Ok(()),
        }
    }

    /// Records a new captured payment; `id` is `None` for a fresh random one.
    fn create(
        &mut self,
        id: Option<IdKey>,
        outlet: &Outlet,
        amount: Amount,
        refund_of: Option<IdKey>,
        now: SystemTime,
    ) -> Result<IdKey, LedgerError> {
        let id = match id {
            Some(id) if self.find(&id).is_some() => {
                return Err(LedgerError::Duplicate(id.as_str().to_owned()));
            }
            Some(id) => id,
            None => loop {
                let id = IdKey::random(&mut self.ids);
                if self.find(&id).is_none() {
                    break id;
                }
            },
        };
        let public = public_id(&id)?;
        let refund_of_public = refund_of.as_ref().map(public_id).transpose()?;
        let amount_text = amount.to_string();
        self.write(&Entry::Created {
            id: id.as_str().into(),
            merchant_id: outlet.merchant_id().into(),
            store_id: outlet.store_id().into(),
            terminal_id: outlet.terminal_id().into(),
            amount: amount_text.as_str().into(),
            at_ms: unix_ms(now),
            refund_of: refund_of.as_ref().map(|r| r.as_str().into()),
        })?;
        self.add(id, public, outlet.clone(), amount, refund_of_public, now);
        Ok(id)
    }

    fn add(
        &mut self,
        key: IdKey,
        id: TransactionId,
        outlet: Outlet,
        amount: Amount,
        refund_of: Option<TransactionId>,
        created_at: SystemTime,
    ) {
        let original = refund_of
            .as_ref()
            .and_then(|r| IdKey::fold(r.as_str()))
            .and_then(|r| self.find(&r));
        if let Some(original) = original {
            let original = &mut self.payments[original];
            original.refunded = original
                .refunded
                .checked_add(amount)
                .unwrap_or(original.amount);
        }
        self.index.insert(key.as_str().into(), self.payments.len());
        self.payments.push(Payment {
            id,
            outlet,
            amount,
            status: PaymentStatus::Captured,
            transfer_started: false,
            created_at,
            refund_of,
            refunded: Amount::default(),
        });
    }

    /// Applies one journal entry read at start.
    fn replay(&mut self, entry: Entry<'_>) -> Result<(), String> {
        let key = |id: &str| IdKey::fold(id).ok_or_else(|| format!("invalid ID {id:?}"));
        match entry {
            Entry::Created {
                id,
                merchant_id,
                store_id,
                terminal_id,
                amount,
                at_ms,
                refund_of,
            } => {
                let id = key(&id)?;
                if self.find(&id).is_some() {
                    return Err(format!("payment {id} is created twice"));
                }
                let outlet = Outlet::new(&*merchant_id, &*store_id, &*terminal_id)
                    .map_err(|e| e.to_string())?;
                let amount = amount.parse::<Amount>().map_err(|e| e.to_string())?;
                let public = public_id(&id).map_err(|e| e.to_string())?;
                let refund_of = refund_of
                    .as_deref()
                    .map(|r| TransactionId::new(r).map_err(|e| e.to_string()))
                    .transpose()?;
                self.add(id, public, outlet, amount, refund_of, from_unix_ms(at_ms));
            }
            Entry::Voided { id, .. } => {
                let index = self.find(&key(&id)?).ok_or(format!("no payment {id}"))?;
                if self.payments[index].status != PaymentStatus::Voided {
                    self.mark_voided(index);
                }
            }
            Entry::TransferStarted { id, .. } => {
                let index = self.find(&key(&id)?).ok_or(format!("no payment {id}"))?;
                self.payments[index].transfer_started = true;
            }
        }
        Ok(())
    }
}

/// The ledger's key for `id`. `IdKey` and `TransactionId` apply the same rules, so this fails
/// only if the two ever drift apart.
fn key_of(id: &TransactionId) -> Result<IdKey, LedgerError> {
    IdKey::fold(id.as_str()).ok_or_else(|| LedgerError::InvalidId(id.to_string()))
}

/// The crate's public form of a stored ID. `IdKey` enforces the length and character rules of
/// `TransactionId::new`; this fails besides only for a card number given as an ID, which
/// `TransactionId` refuses (a seed file or journal naming one is refused with it).
fn public_id(id: &IdKey) -> Result<TransactionId, LedgerError> {
    TransactionId::new(id.as_str()).map_err(|_| LedgerError::InvalidId(id.as_str().to_owned()))
}

fn positive(amount: &str) -> Result<Amount, LedgerError> {
    match amount.parse::<Amount>() {
        Ok(amount) if amount.cents() > 0 => Ok(amount),
        Ok(_) => Err(LedgerError::InvalidAmount(
            "the amount must not be zero".to_owned(),
        )),
        Err(e) => Err(LedgerError::InvalidAmount(e.to_string())),
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outlet() -> Outlet {
        Outlet::new("123", "1", "2").unwrap()
    }

    #[test]
    fn a_void_follows_the_rules() {
        let ledger = Ledger::open(None, None).unwrap();
        let id = ledger.create_payment(&outlet(), "10.00").unwrap();
        let now = SystemTime::now();
        let lower = TransactionId::new(id.as_str().to_lowercase()).unwrap();
        assert_eq!(ledger.void(&lower, now).unwrap(), VoidOutcome::Voided);
        assert_eq!(ledger.status(&id), Some(PaymentStatus::Voided));
        assert_eq!(ledger.void(&id, now).unwrap(), VoidOutcome::AlreadyVoided);
        let nope = TransactionId::new("NOPE").unwrap();
        assert_eq!(ledger.void(&nope, now).unwrap(), VoidOutcome::Unknown);

        let late = ledger.create_payment(&outlet(), "1").unwrap();
        ledger.start_transfer(&late).unwrap();
        assert_eq!(ledger.void(&late, now).unwrap(), VoidOutcome::TooLate);
        assert!(matches!(
            ledger.start_transfer(&nope),
            Err(LedgerError::Unknown(_))
        ));
    }

    #[test]
    fn the_cutoff_and_the_outlet_are_enforced() {
        let ledger = Ledger::open(None, Some(Duration::from_secs(60))).unwrap();
        let id = ledger.create_payment(&outlet(), "5").unwrap();
        let key = IdKey::fold(id.as_str()).unwrap();
        let later = SystemTime::now() + Duration::from_secs(61);
        assert_eq!(ledger.void(&id, later).unwrap(), VoidOutcome::TooLate);
        let elsewhere = OutletRef {
            merchant_id: "123",
            store_id: "1",
            terminal_id: "9",
        };
        let now = SystemTime::now();
        assert_eq!(
            ledger.void_at(Some(elsewhere), &key, now).unwrap(),
            VoidOutcome::Unknown
        );
    }

    #[test]
    fn refunds_are_bounded_by_what_is_left() {
        let ledger = Ledger::open(None, None).unwrap();
        let id = ledger.create_payment(&outlet(), "10.00").unwrap();
        let key = IdKey::fold(id.as_str()).unwrap();
        let here = OutletRef {
            merchant_id: "123",
            store_id: "1",
            terminal_id: "2",
        };
        let now = SystemTime::now();
        let refund = |cents| {
            ledger
                .refund(here, &key, Amount::from_cents(cents), now)
                .unwrap()
        };
        assert!(matches!(refund(600), RefundOutcome::Refunded(_)));
        assert!(matches!(refund(500), RefundOutcome::TooMuch));
        assert!(matches!(refund(400), RefundOutcome::Refunded(_)));
        assert_eq!(ledger.len(), 3);
        assert_eq!(ledger.payment(&id).unwrap().refunded.cents(), 1000);
    }
}
