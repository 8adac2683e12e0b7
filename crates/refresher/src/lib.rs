//! The refresher: finds OAuth tokens about to expire and refreshes them (grows in issue 3).
