//! The names of the rooms one socket is in.

use std::sync::Arc;

/// The rooms one socket is in, as a sorted list: a join or a leave is a
/// binary search and a move of at most
/// [`crate::HubConfig::max_rooms_per_socket`] pointers, and an empty list
/// takes 24 bytes where a hash set takes 48 (every socket holds one).
#[derive(Debug, Default, Clone)]
pub(crate) struct RoomNames {
    sorted: Vec<Arc<str>>,
}

impl RoomNames {
    /// How many rooms.
    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether `room` is one of them.
    pub(crate) fn contains(&self, room: &str) -> bool {
        self.find(room).is_ok()
    }

    /// Adds `room`; false when it was there already.
    pub(crate) fn insert(&mut self, room: Arc<str>) -> bool {
        match self.find(&room) {
            Ok(_) => false,
            Err(at) => {
                self.sorted.insert(at, room);
                true
            }
        }
    }

    /// Removes `room`; false when it was not there.
    pub(crate) fn remove(&mut self, room: &str) -> bool {
        match self.find(room) {
            Ok(at) => {
                self.sorted.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// The rooms, in byte order of their names.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Arc<str>> {
        self.sorted.iter()
    }

    fn find(&self, room: &str) -> Result<usize, usize> {
        self.sorted.binary_search_by(|name| (**name).cmp(room))
    }
}

impl<'a> IntoIterator for &'a RoomNames {
    type Item = &'a Arc<str>;
    type IntoIter = std::slice::Iter<'a, Arc<str>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_each_room_once_in_order() {
        let mut names = RoomNames::default();
        assert!(names.insert("b".into()));
        assert!(names.insert("a".into()));
        assert!(names.insert("c".into()));
        assert!(!names.insert("b".into()));
        assert_eq!(names.len(), 3);
        assert!(names.contains("a") && names.contains("c"));
        assert!(!names.contains("d"));
        let order: Vec<&str> = names.iter().map(|n| &**n).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert!(names.remove("b"));
        assert!(!names.remove("b"));
        assert!(!names.contains("b"));
        assert_eq!(names.len(), 2);
    }
}
