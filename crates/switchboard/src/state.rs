//! Typed application state: values given to [`crate::HubBuilder::state`],
//! one per type, shared by every handler of the hub.

use std::any::{Any, TypeId};
use std::collections::HashMap;

/// The hub's application state, by type (one map per hub, not per
/// socket). Empty (no allocation) for hubs that set none.
#[derive(Default)]
pub(crate) struct StateMap {
    values: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl StateMap {
    /// Sets the value of type `T`, replacing any earlier one.
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Box::new(value));
    }

    /// The value of type `T`, if one was set.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values.get(&TypeId::of::<T>())?.downcast_ref::<T>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_type() {
        let mut map = StateMap::default();
        assert!(map.get::<u32>().is_none());
        map.insert(7u32);
        map.insert(String::from("db"));
        map.insert(8u32);
        assert_eq!(map.get::<u32>(), Some(&8));
        assert_eq!(map.get::<String>().map(String::as_str), Some("db"));
        assert!(map.get::<u64>().is_none());
    }
}
